package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Invoicing is what an invoice needs of a customer beyond its record.
type Invoicing struct {
	CustomerID      int64  `json:"customerId"`
	Street          string `json:"street"`
	Postcode        string `json:"postcode"`
	City            string `json:"city"`
	Country         string `json:"country"`
	CompanyID       string `json:"companyId"` // KBO/BCE
	Email           string `json:"email"`
	BuyerReference  string `json:"buyerReference"`
	ExemptionCode   string `json:"exemptionCode"`
	ExemptionReason string `json:"exemptionReason"`
}

// Audit events of invoicing.
const (
	EventCustomerInvoicing = "customer.invoicing" // the details as saved
	EventStatementApproved = "statement.approved" // {"approvalId", "customerId", "periodStart", "periodEnd", "sha256", "amountCents", "vatCents", "totalCents"}
	EventInvoiceIssued     = "invoice.issued"     // {"number", "kind", "customerId", "approvalId", "credits", "sha256", "totalCents"}
)

// CustomerInvoicing returns the customer's details, empty (country BE)
// when none were saved.
func (s *Store) CustomerInvoicing(ctx context.Context, customerID int64) (Invoicing, error) {
	v := Invoicing{CustomerID: customerID, Country: "BE"}
	err := s.db.QueryRowContext(ctx, `SELECT street, postcode, city, country, company_id, email, buyer_reference,
		exemption_code, exemption_reason FROM customer_invoicing WHERE customer_id = ?`, customerID).Scan(
		&v.Street, &v.Postcode, &v.City, &v.Country, &v.CompanyID, &v.Email, &v.BuyerReference, &v.ExemptionCode, &v.ExemptionReason)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("store: invoicing of customer %d: %w", customerID, err)
	}
	return v, nil
}

// SetCustomerInvoicing saves the customer's details, audited; the caller
// has checked them.
func (s *Store) SetCustomerInvoicing(ctx context.Context, v Invoicing) error {
	if _, err := s.Customer(ctx, v.CustomerID); err != nil {
		return err
	}
	err := s.audited(ctx, EventCustomerInvoicing, v, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO customer_invoicing (customer_id, street, postcode, city, country, company_id,
			email, buyer_reference, exemption_code, exemption_reason, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (customer_id) DO UPDATE SET street = excluded.street, postcode = excluded.postcode, city = excluded.city,
			country = excluded.country, company_id = excluded.company_id, email = excluded.email,
			buyer_reference = excluded.buyer_reference, exemption_code = excluded.exemption_code,
			exemption_reason = excluded.exemption_reason, updated_at = excluded.updated_at`,
			v.CustomerID, v.Street, v.Postcode, v.City, v.Country, v.CompanyID, v.Email, v.BuyerReference, v.ExemptionCode,
			v.ExemptionReason, s.nowMS())
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set invoicing of customer %d: %w", v.CustomerID, err)
	}
	return nil
}

// settingCompany holds the desk's own details for its invoices, as JSON.
const settingCompany = "company"

// SettingCompany names the desk's details in SettingHistory.
const SettingCompany = settingCompany

// Company returns the desk's details for its invoices (JSON an admin
// saved with SetCompany), "" when never saved.
func (s *Store) Company(ctx context.Context) (string, error) {
	v, _, err := s.Setting(ctx, settingCompany)
	return v, err
}

// SetCompany saves the desk's details (audited as every setting).
func (s *Store) SetCompany(ctx context.Context, detailsJSON string) error {
	return s.SetSetting(ctx, settingCompany, detailsJSON)
}

// Approval is a statement an admin approved for invoicing.
type Approval struct {
	ID          int64           `json:"id"`
	CustomerID  int64           `json:"customerId"`
	PeriodStart string          `json:"periodStart"`
	PeriodEnd   string          `json:"periodEnd"`
	Statement   json.RawMessage `json:"statement"`
	SHA256      string          `json:"sha256"`
	ApprovedBy  string          `json:"approvedBy"`
	ApprovedAt  time.Time       `json:"approvedAt"`
	Withdrawn   bool            `json:"withdrawn"`
	// Invoice and CreditNote are the numbers issued from it, "" for none.
	Invoice    string `json:"invoice"`
	CreditNote string `json:"creditNote"`
}

// Totals an approval event records, read from the statement's JSON.
type approvedTotals struct {
	Totals struct {
		AmountCents int64 `json:"amountCents"`
		VATCents    int64 `json:"vatCents"`
		TotalCents  int64 `json:"totalCents"`
	} `json:"totals"`
}

// ApproveStatement freezes a customer's statement of a period for
// invoicing, audited with its SHA-256. A period already approved (and not
// withdrawn by a credit note) is a conflict.
func (s *Store) ApproveStatement(ctx context.Context, customerID int64, periodStart, periodEnd string, statement []byte) (Approval, error) {
	var tot approvedTotals
	if err := json.Unmarshal(statement, &tot); err != nil {
		return Approval{}, fmt.Errorf("store: approve statement: %w", err)
	}
	sum := sha256.Sum256(statement)
	a := Approval{CustomerID: customerID, PeriodStart: periodStart, PeriodEnd: periodEnd, Statement: statement,
		SHA256: hex.EncodeToString(sum[:]), ApprovedBy: actorOf(ctx).Name, ApprovedAt: fromMS(s.nowMS())}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		newID, err := insertID(ctx, tx, `INSERT INTO statement_approvals (customer_id, period_start, period_end, statement,
			sha256, approved_by, approved_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			customerID, periodStart, periodEnd, string(statement), sum[:], a.ApprovedBy, a.ApprovedAt.UnixMilli())
		if isUnique(err) {
			return &FieldError{"period", fmt.Errorf("%w: this period is already approved", ErrConflict)}
		}
		if err != nil {
			return err
		}
		a.ID = newID
		return s.appendAudit(ctx, tx, "", EventStatementApproved, map[string]any{"approvalId": a.ID, "customerId": customerID,
			"periodStart": periodStart, "periodEnd": periodEnd, "sha256": a.SHA256, "amountCents": tot.Totals.AmountCents,
			"vatCents": tot.Totals.VATCents, "totalCents": tot.Totals.TotalCents})
	})
	if err != nil {
		return Approval{}, fmt.Errorf("store: approve statement of customer %d: %w", customerID, err)
	}
	return a, nil
}

const approvalColumns = `a.id, a.customer_id, a.period_start, a.period_end, a.statement, a.sha256, a.approved_by, a.approved_at,
	a.withdrawn_at IS NOT NULL,
	COALESCE((SELECT number FROM invoices WHERE approval_id = a.id AND kind = 'invoice'), ''),
	COALESCE((SELECT number FROM invoices WHERE approval_id = a.id AND kind = 'credit_note'), '')`

func scanApproval(row interface{ Scan(...any) error }) (Approval, error) {
	var a Approval
	var statement string
	var sum []byte
	var at int64
	err := row.Scan(&a.ID, &a.CustomerID, &a.PeriodStart, &a.PeriodEnd, &statement, &sum, &a.ApprovedBy, &at, &a.Withdrawn,
		&a.Invoice, &a.CreditNote)
	a.Statement, a.SHA256, a.ApprovedAt = json.RawMessage(statement), hex.EncodeToString(sum), fromMS(at)
	return a, err
}

// Approval returns one approval.
func (s *Store) Approval(ctx context.Context, id int64) (Approval, error) {
	return one(s.db.QueryRowContext(ctx, "SELECT "+approvalColumns+" FROM statement_approvals a WHERE a.id = ?", id),
		scanApproval, "approval "+strconv.FormatInt(id, 10))
}

// Approvals lists a customer's approved statements, newest period first.
func (s *Store) Approvals(ctx context.Context, customerID int64) ([]Approval, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+approvalColumns+
		" FROM statement_approvals a WHERE a.customer_id = ? ORDER BY a.period_start DESC, a.id DESC", customerID)
	if err != nil {
		return nil, fmt.Errorf("store: approvals of customer %d: %w", customerID, err)
	}
	return collect(rows, scanApproval)
}

// Invoice is an exported invoice or credit note.
type Invoice struct {
	Number      string    `json:"number"`
	Kind        string    `json:"kind"` // invoice.KindInvoice or KindCreditNote
	CustomerID  int64     `json:"customerId"`
	ApprovalID  int64     `json:"approvalId"`
	Credits     string    `json:"credits,omitempty"` // the invoice a credit note cancels
	IssueDate   string    `json:"issueDate"`
	XML         []byte    `json:"-"`
	SHA256      string    `json:"sha256"`
	AmountCents int64     `json:"amountCents"`
	VATCents    int64     `json:"vatCents"`
	TotalCents  int64     `json:"totalCents"`
	CreatedAt   time.Time `json:"createdAt"`
}

// Issue is what a document builder returns for IssueInvoice.
type Issue struct {
	XML                               []byte
	AmountCents, VATCents, TotalCents int64
}

// Errors of issuing.
var (
	ErrWithdrawn     = errors.New("the approval was withdrawn by a credit note")
	ErrNotInvoiced   = errors.New("there is no invoice to credit")
	ErrAlreadyIssued = errors.New("already issued")
)

// IssueInvoice exports the approval's invoice (kind "invoice") or the
// credit note cancelling it (kind "credit_note"). In one transaction it
// takes the next number, has build write the document with it, stores
// the document with its SHA-256 and records both in the audit chain; a
// credit note also withdraws the approval, so the period can be approved
// again, corrected. build gets the number, the issue date and, for a
// credit note, the invoice it cancels.
func (s *Store) IssueInvoice(ctx context.Context, approvalID int64, kind, issueDate string,
	build func(number string, credits *Invoice) (Issue, error)) (Invoice, error) {
	var inv Invoice
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		a, err := one(tx.QueryRowContext(ctx, "SELECT "+approvalColumns+" FROM statement_approvals a WHERE a.id = ?", approvalID),
			scanApproval, "approval "+strconv.FormatInt(approvalID, 10))
		if err != nil {
			return err
		}
		var credits *Invoice
		switch {
		case a.Withdrawn:
			return fmt.Errorf("%w: %w", ErrConflict, ErrWithdrawn)
		case kind == "invoice" && a.Invoice != "", kind == "credit_note" && a.CreditNote != "":
			return fmt.Errorf("%w: %s %w", ErrConflict, kind, ErrAlreadyIssued)
		case kind == "credit_note" && a.Invoice == "":
			return fmt.Errorf("%w: %w", ErrConflict, ErrNotInvoiced)
		case kind == "credit_note":
			c, err := one(tx.QueryRowContext(ctx, "SELECT "+invoiceColumns+" FROM invoices i WHERE number = ?", a.Invoice),
				scanInvoice, "invoice "+a.Invoice)
			if err != nil {
				return err
			}
			credits = &c
		case kind != "invoice":
			return fmt.Errorf("store: unknown document kind %q", kind)
		}
		var seq int64
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) + 1 FROM invoices").Scan(&seq); err != nil {
			return err
		}
		number := fmt.Sprintf("%06d", seq)
		doc, err := build(number, credits)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(doc.XML)
		inv = Invoice{Number: number, Kind: kind, CustomerID: a.CustomerID, ApprovalID: a.ID, IssueDate: issueDate,
			XML: doc.XML, SHA256: hex.EncodeToString(sum[:]), AmountCents: doc.AmountCents, VATCents: doc.VATCents,
			TotalCents: doc.TotalCents, CreatedAt: fromMS(s.nowMS())}
		var creditsSeq any
		if credits != nil {
			inv.Credits = credits.Number
			creditsSeq, _ = strconv.ParseInt(credits.Number, 10, 64)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO invoices (seq, number, kind, customer_id, approval_id, credits, issue_date,
			xml, sha256, amount_cents, vat_cents, total_cents, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			seq, number, kind, a.CustomerID, a.ID, creditsSeq, issueDate, string(doc.XML), sum[:], doc.AmountCents, doc.VATCents,
			doc.TotalCents, inv.CreatedAt.UnixMilli()); err != nil {
			return err
		}
		if credits != nil {
			if _, err := tx.ExecContext(ctx, "UPDATE statement_approvals SET withdrawn_at = ? WHERE id = ?", s.nowMS(), a.ID); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, "", EventInvoiceIssued, map[string]any{"number": number, "kind": kind,
			"customerId": a.CustomerID, "approvalId": a.ID, "credits": inv.Credits, "issueDate": issueDate,
			"sha256": inv.SHA256, "amountCents": doc.AmountCents, "vatCents": doc.VATCents, "totalCents": doc.TotalCents})
	})
	if err != nil {
		return Invoice{}, fmt.Errorf("store: issue %s of approval %d: %w", kind, approvalID, err)
	}
	return inv, nil
}

const invoiceColumns = `i.number, i.kind, i.customer_id, i.approval_id,
	COALESCE((SELECT number FROM invoices c WHERE c.seq = i.credits), ''), i.issue_date, i.xml, i.sha256,
	i.amount_cents, i.vat_cents, i.total_cents, i.created_at`

func scanInvoice(row interface{ Scan(...any) error }) (Invoice, error) {
	var v Invoice
	var xml string
	var sum []byte
	var at int64
	err := row.Scan(&v.Number, &v.Kind, &v.CustomerID, &v.ApprovalID, &v.Credits, &v.IssueDate, &xml, &sum,
		&v.AmountCents, &v.VATCents, &v.TotalCents, &at)
	v.XML, v.SHA256, v.CreatedAt = []byte(xml), hex.EncodeToString(sum), fromMS(at)
	return v, err
}

// InvoiceByNumber returns one exported document.
func (s *Store) InvoiceByNumber(ctx context.Context, number string) (Invoice, error) {
	return one(s.db.QueryRowContext(ctx, "SELECT "+invoiceColumns+" FROM invoices i WHERE i.number = ?", number),
		scanInvoice, "invoice "+number)
}

// Invoices lists a customer's documents, newest first.
func (s *Store) Invoices(ctx context.Context, customerID int64) ([]Invoice, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+invoiceColumns+" FROM invoices i WHERE i.customer_id = ? ORDER BY i.seq DESC",
		customerID)
	if err != nil {
		return nil, fmt.Errorf("store: invoices of customer %d: %w", customerID, err)
	}
	return collect(rows, scanInvoice)
}
