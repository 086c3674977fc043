package console

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/meekijk/meekijk/internal/httpx"
	"github.com/meekijk/meekijk/internal/privfile"
	"github.com/meekijk/meekijk/internal/store"
)

// Files customers attach to a request or a ticket. The bytes are private
// files (0600) in Config.AttachmentsDir, named by a random name, never by
// what the customer called them; each is written in full before the
// ticket's transaction commits, and removed when anything fails, so no
// request is half-created and no file is left without its row.

const (
	// MaxAttachmentBytes is the most one attached file may hold.
	MaxAttachmentBytes = 10 << 20
	// maxAttachmentsBytes bounds one request's body, files and fields.
	maxAttachmentsBytes = 25 << 20
	// maxAttachments is the most files one request attaches.
	maxAttachments = 5
	// maxFormField bounds a multipart text field (the description).
	maxFormField = 32 << 10
)

// errFileTooLarge answers a file over MaxAttachmentBytes.
var errFileTooLarge = &httpx.Problem{Status: http.StatusRequestEntityTooLarge, Code: "file_too_large", Field: "attachment",
	Message: fmt.Sprintf("a file may hold at most %d MB", MaxAttachmentBytes>>20)}

// upload is a multipart request read: its text fields and its files,
// already on disk. remove deletes the files: the caller does so unless
// their rows were committed.
type upload struct {
	dir    string
	fields map[string]string
	files  []store.Attachment
}

func (u *upload) remove() {
	for _, f := range u.files {
		_ = os.Remove(filepath.Join(u.dir, f.StoredName))
	}
}

func isMultipart(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "multipart/form-data"
}

// readUpload reads a multipart request, writing each "attachment" part to
// its private file as it streams in. On error nothing is left on disk.
func (c *console) readUpload(w http.ResponseWriter, r *http.Request) (_ *upload, err error) {
	if c.AttachmentsDir == "" {
		return nil, httpx.Errorf(http.StatusServiceUnavailable, "no_attachments", "this desk does not accept files")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxAttachmentsBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, httpx.FieldError("form", "the form cannot be read")
	}
	u := &upload{dir: c.AttachmentsDir, fields: map[string]string{}}
	defer func() {
		if err != nil {
			u.remove()
		}
	}()
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return u, nil
		}
		if err != nil {
			return nil, uploadErr(err)
		}
		if p.FormName() != "attachment" {
			b, err := io.ReadAll(io.LimitReader(p, maxFormField+1))
			if err != nil {
				return nil, uploadErr(err)
			}
			if len(b) > maxFormField {
				return nil, httpx.FieldError(p.FormName(), "%s is too long", p.FormName())
			}
			u.fields[p.FormName()] = string(b)
			continue
		}
		if p.FileName() == "" { // an empty file input
			continue
		}
		if len(u.files) == maxAttachments {
			return nil, httpx.FieldError("attachment", "at most %d files at once", maxAttachments)
		}
		f, err := c.saveAttachment(p)
		if err != nil {
			return nil, err
		}
		u.files = append(u.files, f)
	}
}

// uploadErr names a request body over the limit as such.
func uploadErr(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &httpx.Problem{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Field: "attachment",
			Message: fmt.Sprintf("the files together may hold at most %d MB", maxAttachmentsBytes>>20)}
	}
	return httpx.FieldError("form", "the form cannot be read")
}

// attachmentName is the name a file is shown and downloaded under: its
// base name, cleaned as any text field, never a path.
func attachmentName(name string) (string, error) {
	name = filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" {
		name = ""
	}
	return text("attachment", name, 200, false)
}

// saveAttachment writes one part to a new private file, with its size
// and SHA-256; a part over the limit is removed and refused.
func (c *console) saveAttachment(p *multipart.Part) (_ store.Attachment, err error) {
	var a store.Attachment
	if a.Name, err = attachmentName(p.FileName()); err != nil {
		return a, err
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	a.StoredName = hex.EncodeToString(b)
	path := filepath.Join(c.AttachmentsDir, a.StoredName)
	if err := privfile.Create(path); err != nil {
		return a, err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	f, err := os.OpenFile(path, os.O_WRONLY, privfile.Mode)
	if err != nil {
		return a, fmt.Errorf("console: attachment: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(p, MaxAttachmentBytes+1))
	if err == nil {
		err = f.Sync() // on disk before the row that names it commits
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil && errors.As(err, new(*http.MaxBytesError)):
		return a, uploadErr(err)
	case err != nil:
		return a, fmt.Errorf("console: attachment: %w", err)
	case n > MaxAttachmentBytes:
		return a, errFileTooLarge
	}
	a.Size, a.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	return a, nil
}

type ticketFileJSON struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	CreatedAt time.Time `json:"createdAt"`
	By        string    `json:"by"`
}

// ticketFiles lists a ticket's files for the portal and the console.
func (c *console) ticketFiles(r *http.Request, ticketID int64) ([]ticketFileJSON, error) {
	fs, err := c.Store.TicketFiles(r.Context(), ticketID)
	out := []ticketFileJSON{}
	for _, f := range fs {
		out = append(out, ticketFileJSON{ID: f.ID, Name: f.Name, Size: f.Size, SHA256: f.SHA256, CreatedAt: f.CreatedAt, By: f.By})
	}
	return out, err
}

// serveTicketFile sends one of the ticket's files as a download: never
// shown inline, never sniffed, so a file cannot act as a page of ours.
func (c *console) serveTicketFile(w http.ResponseWriter, r *http.Request, ticketID int64) error {
	id, err := pathID(r, "file")
	if err != nil {
		return err
	}
	tf, err := c.Store.TicketFileOf(r.Context(), ticketID, id)
	if err != nil {
		return httpx.Errorf(http.StatusNotFound, "not_found", "not found")
	}
	f, err := os.Open(filepath.Join(c.AttachmentsDir, tf.StoredName))
	if err != nil {
		return fmt.Errorf("console: file %d of ticket %d: %w", id, ticketID, err)
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": tf.Name}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, "", tf.CreatedAt, f)
	return nil
}

// portalAddFiles adds files, and an optional note ("body"), to a ticket
// of the person's company.
func (c *console) portalAddFiles(w http.ResponseWriter, r *http.Request, who store.Contact) error {
	t, err := c.portalTicketFor(r, who)
	if err != nil {
		return err
	}
	if !isMultipart(r) {
		return httpx.FieldError("attachment", "send the files as multipart/form-data")
	}
	u, err := c.readUpload(w, r)
	if err != nil {
		return err
	}
	defer func() {
		if u != nil { // refused or failed: the files go
			u.remove()
		}
	}()
	body, err := text("body", u.fields["body"], 10000, true)
	if err != nil {
		return err
	}
	if len(u.files) == 0 {
		return httpx.FieldError("attachment", "choose a file")
	}
	n := len(u.files)
	if err := c.Store.AddCustomerFiles(r.Context(), t.ID, who.ID, body, u.files); err != nil {
		return err
	}
	u = nil // committed: the files are the ticket's now
	c.log.Info("files added in the portal", "ticket", t.Reference, "contact", who.ID, "files", n)
	files, err := c.ticketFiles(r, t.ID)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusCreated, map[string]any{"files": files})
	return nil
}

// portalFile downloads a file of a ticket of the person's company.
func (c *console) portalFile(w http.ResponseWriter, r *http.Request, who store.Contact) error {
	t, err := c.portalTicketFor(r, who)
	if err != nil {
		return err
	}
	return c.serveTicketFile(w, r, t.ID)
}

// staffTicketFiles lists the files customers attached to a ticket.
func (c *console) staffTicketFiles(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := c.Store.Ticket(r.Context(), id); err != nil {
		return err
	}
	files, err := c.ticketFiles(r, id)
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, files)
	return nil
}

// staffTicketFile downloads one of them.
func (c *console) staffTicketFile(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return c.serveTicketFile(w, r, id)
}
