package app

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/meekijk/meekijk/agent/localui"
	"github.com/meekijk/meekijk/internal/consent"
	"github.com/meekijk/meekijk/internal/datachannel"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/protocol"
)

// The consent ladder on the customer's machine, where it is enforced:
// view -> control -> data intervention, each step a question the customer
// answers here, each step down a click away. Remote input reaches the
// machine only while control is granted, the picture is shared, and no
// question is on screen (so the technician cannot click Allow).

// maxChatLines bounds the chat the page keeps.
const maxChatLines = 200

// question is a prompt on (or waiting for) the customer's screen, with
// what answering it needs.
type question struct {
	prompt   localui.Prompt
	asked    consent.Question         // consent prompts: the exact wording
	req      *protocol.ConsentRequest // consent and keep prompts: what was asked, to word it again
	work     *protocol.Intervention   // data intervention only
	screen   int                      // screen prompts: the screen asked for
	file     *incoming                // file prompts
	deadline time.Time                // reconfirm prompts
	// lines words the other prompts (reconfirm, screen, file) in a
	// language, so a switch on the page words them again.
	lines func(i18n.Lang) []string
}

// ask queues q; a question that expires goes first.
func (a *App) ask(q *question) {
	if q.lines != nil {
		q.prompt.Lines = q.lines(a.lang())
	}
	a.promptSeq++
	q.prompt.ID = a.promptSeq
	if q.prompt.Kind == localui.PromptReconfirm || q.prompt.Kind == localui.PromptKeep {
		a.questions = slices.Insert(a.questions, 0, q)
	} else {
		a.questions = append(a.questions, q)
	}
	a.showQuestion()
}

// showQuestion puts the first queued question on the page.
func (a *App) showQuestion() {
	a.state.Prompt = nil
	if len(a.questions) > 0 {
		p := a.questions[0].prompt
		a.state.Prompt = &p
	}
}

func (a *App) dropQuestion(q *question) {
	a.questions = slices.DeleteFunc(a.questions, func(x *question) bool { return x == q })
	a.showQuestion()
}

func (a *App) clearQuestions() {
	a.questions = nil
	a.showQuestion()
}

func (a *App) who() consent.Who {
	st := a.state
	return consent.Who{Technician: st.Technician, Company: st.Company, TicketRef: st.TicketRef, TicketTitle: st.TicketTitle}
}

func (a *App) lang() i18n.Lang { return i18n.Lang(a.state.Lang) }

func (a *App) onConsentRequest(m protocol.ConsentRequest) {
	if a.joined == nil {
		return
	}
	if m.Keep != "" {
		a.onKeepRequest(m)
		return
	}
	if m.Level == protocol.LevelView {
		if a.allowed && a.joined.Resumed {
			// The relay interrupted the session before this agent saw
			// its grace period end: the old consent no longer stands.
			a.lapse()
		}
		if !a.allowed && a.state.Phase == localui.PhaseConnecting {
			a.state.Phase = localui.PhaseAsk
			a.askConsent(m)
		}
		return
	}
	// A step up is asked from the level just below, while sharing.
	if a.state.Phase != localui.PhaseSharing || m.Level.Rank() != a.state.Level.Rank()+1 {
		a.log.Warn("consent request out of order ignored", "level", m.Level, "at", a.state.Level)
		return
	}
	if a.controller == nil {
		// This machine cannot be controlled (no display to inject into):
		// say so rather than ask the customer for something that will not
		// happen.
		a.log.Warn("control asked, but input cannot be injected here")
		_ = a.toRelay(protocol.Consent{Level: m.Level, Granted: false, Text: "input injection unavailable"})
		return
	}
	for _, q := range a.questions {
		if q.prompt.Kind == localui.PromptConsent && q.prompt.Level == m.Level {
			return // already asking
		}
	}
	a.askConsent(m)
}

func (a *App) askConsent(m protocol.ConsentRequest) {
	q := &question{prompt: localui.Prompt{Kind: localui.PromptConsent, Level: m.Level}, work: m.Intervention, req: &m}
	a.word(q)
	a.ask(q)
}

// word puts a consent or keep question in the page's language. It is
// worded again when the customer switches language with the question on
// screen, so the page never mixes two, and the text recorded with the
// answer is the one the customer read.
func (a *App) word(q *question) {
	m := *q.req
	if q.prompt.Kind == localui.PromptKeep {
		q.asked = consent.Keep(a.catalog, a.lang(), a.who(), m)
	} else {
		q.asked = consent.Ask(a.catalog, a.lang(), m.Level, a.who(), m.Intervention, m.Cost)
	}
	q.prompt.Lines, q.prompt.Statements = q.asked.Lines, q.asked.Statements
	q.prompt.Acceptance, q.prompt.Estimate = q.asked.Acceptance, q.asked.Estimate
}

// reword puts the questions waiting in the new language.
func (a *App) reword() {
	for _, q := range a.questions {
		switch {
		case q.req != nil:
			a.word(q)
		case q.lines != nil:
			q.prompt.Lines = q.lines(a.lang())
		}
	}
	a.showQuestion()
}

// onKeepRequest asks whether the work may go on at the level in force. A
// question for another level than the one in force is stale: ignored.
func (a *App) onKeepRequest(m protocol.ConsentRequest) {
	if a.state.Phase != localui.PhaseSharing || m.Level != a.state.Level ||
		m.Level.Rank() < protocol.LevelControl.Rank() {
		a.log.Warn("keep question out of order ignored", "level", m.Level, "at", a.state.Level)
		return
	}
	a.questions = slices.DeleteFunc(a.questions, func(q *question) bool { return q.prompt.Kind == localui.PromptKeep })
	wait := time.Duration(m.DeadlineSeconds) * time.Second
	if wait <= 0 {
		wait = time.Minute
	}
	deadline := time.Now().Add(wait)
	q := &question{prompt: localui.Prompt{Kind: localui.PromptKeep, Level: m.Level, Keep: m.Keep,
		DeadlineMs: deadline.UnixMilli()}, deadline: deadline, req: &m}
	a.word(q)
	a.ask(q)
}

// answerKeep answers a keep question; no (or no answer in time) steps
// down to view here at once, and the relay records the same.
func (a *App) answerKeep(q *question, yes, timedOut bool) {
	a.dropQuestion(q)
	if !yes {
		a.state.Level = protocol.LevelView
		a.setControl(false)
		a.log.Info("work not to go on: back to view", "keep", q.prompt.Keep, "timed_out", timedOut)
	}
	if a.conn != nil {
		_ = a.conn.Send(protocol.Consent{Level: q.prompt.Level, Granted: yes, TimedOut: timedOut, Text: q.asked.Text(), Lang: a.state.Lang})
	}
}

// answerView answers the first question: Allow starts sharing, Deny ends
// the session.
func (a *App) answerView(q *question, allow bool) {
	msg := protocol.Consent{Level: protocol.LevelView, Granted: allow, Text: q.asked.Text(), Lang: a.state.Lang}
	a.dropQuestion(q)
	if !allow {
		a.conn.Finish(msg)
		a.state.Phase = localui.PhaseDeclined
		a.finished = true
		return
	}
	a.allowed = true
	_ = a.toRelay(msg)
	a.state.Phase, a.state.Level = localui.PhaseSharing, protocol.LevelView
	a.scheduleReconfirm(time.Now())
	a.publish()
	a.startSharing()
}

// answer handles Yes and No on the question on screen. value is the page's
// localui.Answer; its ID must be the question's, so a click on a question
// that has gone answers nothing.
func (a *App) answer(yes bool, value string) {
	var ans localui.Answer
	if err := json.Unmarshal([]byte(value), &ans); err != nil || len(a.questions) == 0 ||
		a.questions[0].prompt.ID != ans.ID || a.state.Phase != localui.PhaseSharing {
		return
	}
	q := a.questions[0]
	switch q.prompt.Kind {
	case localui.PromptConsent:
		a.answerConsent(q, yes, ans)
	case localui.PromptKeep:
		a.answerKeep(q, yes, false)
	case localui.PromptReconfirm:
		a.dropQuestion(q)
		if !yes {
			a.endByCustomer(protocol.ReasonCustomerStopped)
			return
		}
		_ = a.toRelay(protocol.Reconfirm{Outcome: protocol.ReconfirmConfirmed})
		a.scheduleReconfirm(time.Now())
	case localui.PromptScreen:
		a.dropQuestion(q)
		_ = a.toRelay(protocol.ScreenSwitch{Index: q.screen, Granted: yes})
		if yes {
			a.switchScreen(q.screen)
		}
	case localui.PromptFile:
		a.answerFile(q, yes, ans.Folder)
	case localui.PromptRecording:
		a.answerRecording(q, yes)
	}
}

func (a *App) answerConsent(q *question, yes bool, ans localui.Answer) {
	level := q.prompt.Level
	msg := protocol.Consent{Level: level, Granted: yes, Text: q.asked.Text(), Lang: a.state.Lang}
	if yes && q.asked.Estimate != "" {
		if !ans.EstimateApproved {
			// The page enables Yes only once the estimate is ticked.
			a.log.Info("estimate not approved: answer ignored")
			return
		}
		msg.EstimateApproved = true
	}
	if yes && level == protocol.LevelDataIntervention {
		acc := &protocol.Acceptance{Version: consent.InterventionVersion, Name: ans.Name, OSUser: a.osUser}
		for i, st := range q.asked.Statements {
			acc.Answers = append(acc.Answers, protocol.StatementAnswer{Statement: st, Confirmed: i < len(ans.Confirmed) && ans.Confirmed[i]})
		}
		if err := consent.CheckAcceptance(acc); err != nil {
			// The page requires every statement and the name before it
			// enables Accept; an incomplete answer changes nothing.
			a.log.Info("incomplete acceptance ignored", "err", err)
			return
		}
		msg.Acceptance = acc
	}
	a.dropQuestion(q)
	if err := a.toRelay(msg); err != nil {
		return
	}
	if yes {
		a.state.Level = level
		a.log.Info("customer granted", "level", level)
	}
}

// stepDown lowers the level at once, then tells the relay.
func (a *App) stepDown(level protocol.Level, reason string) {
	if a.state.Phase != localui.PhaseSharing || level.Rank() >= a.state.Level.Rank() {
		return
	}
	a.state.Level = level
	a.setControl(false) // before anything else: held keys go up now
	a.dropKeepQuestions()
	a.log.Info("level lowered", "level", level, "reason", reason)
	_ = a.toRelay(protocol.LevelChange{Level: level, Reason: reason})
}

// onRelayLevel enforces a step down the relay decided (a keep question it
// saw go unanswered, work it can no longer price). Only down: a level is
// raised by the customer's own answer, never by the relay.
func (a *App) onRelayLevel(m protocol.LevelChange) {
	if a.state.Phase != localui.PhaseSharing || m.Level.Rank() < protocol.LevelView.Rank() ||
		m.Level.Rank() >= a.state.Level.Rank() {
		return
	}
	a.state.Level = m.Level
	a.setControl(false)
	a.dropKeepQuestions()
	a.log.Info("level lowered by the relay", "level", m.Level, "reason", m.Reason)
}

func (a *App) onHandover(m protocol.Handover) {
	a.state.Technician = cleanName(m.Technician)
	// The relay has recorded the drop to view; the agent enforces it.
	if a.state.Level.Rank() > protocol.LevelView.Rank() {
		a.state.Level = protocol.LevelView
		a.setControl(false)
	}
	a.questions = slices.DeleteFunc(a.questions, func(q *question) bool {
		return q.prompt.Kind == localui.PromptConsent && q.prompt.Level != protocol.LevelView
	})
	a.dropKeepQuestions()
	a.log.Info("session handed over", "technician", a.state.Technician)
}

// dropKeepQuestions takes back questions to keep a level that is no
// longer in force.
func (a *App) dropKeepQuestions() {
	a.questions = slices.DeleteFunc(a.questions, func(q *question) bool {
		return q.prompt.Kind == localui.PromptKeep && q.prompt.Level != a.state.Level
	})
	a.showQuestion()
}

func cleanName(s string) string {
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

// syncControl switches remote input on exactly when it is allowed.
func (a *App) syncControl() {
	a.setControl(a.sender != nil && len(a.questions) == 0 && a.downSince.IsZero() && !a.state.ScreenGone &&
		a.state.Level.Rank() >= protocol.LevelControl.Rank())
}

func (a *App) setControl(on bool) {
	if a.controller == nil || on == a.controller.IsEnabled() {
		return
	}
	a.controller.Enabled(on)
	if on {
		a.log.Info("remote input", "enabled", on)
		return
	}
	// What was dropped so far says, after a call, why a click did nothing.
	st := a.controller.Stats()
	a.log.Info("remote input", "enabled", on, "dropped_disabled", st.Disabled, "rate_limited", st.RateLimited,
		"invalid", st.Invalid, "unmapped_keys", st.Unmapped, "watchdog_releases", st.Watchdog)
}

// scheduleReconfirm sets when to ask next whether to keep sharing.
func (a *App) scheduleReconfirm(now time.Time) {
	every := time.Duration(a.joined.ReconfirmSeconds) * time.Second
	if every <= 0 {
		a.reconfirm = time.Time{}
		return
	}
	a.reconfirm = now.Add(every)
}

func (a *App) onTick(now time.Time) {
	if a.controller != nil {
		a.controller.Tick(now)
	}
	a.checkLink(now)
	a.checkDesktop(now)
	if a.state.Phase == localui.PhaseSharing && !a.reconfirm.IsZero() && now.After(a.reconfirm) {
		a.askReconfirm(now)
	}
	for _, q := range a.questions {
		if q.prompt.Kind == localui.PromptKeep && now.After(q.deadline) {
			a.answerKeep(q, false, true)
			a.uiDirty = true
			break
		}
	}
	for _, q := range a.questions {
		if q.prompt.Kind == localui.PromptReconfirm && now.After(q.deadline) {
			a.log.Info("no answer to keep sharing: stopping")
			_ = a.toRelay(protocol.Reconfirm{Outcome: protocol.ReconfirmTimeout})
			a.endByCustomer(protocol.ReconfirmTimeout)
			a.state.EndedBy = "reconfirm_timeout"
			a.uiDirty = true
			break
		}
	}
	if a.uiDirty {
		a.uiDirty = false
		a.publish()
	}
}

func (a *App) askReconfirm(now time.Time) {
	a.reconfirm = time.Time{} // until answered
	wait := time.Duration(a.joined.ReconfirmAnswerSeconds) * time.Second
	if wait <= 0 {
		wait = time.Minute
	}
	deadline := now.Add(wait)
	technician := a.state.Technician
	a.ask(&question{
		prompt: localui.Prompt{Kind: localui.PromptReconfirm, DeadlineMs: deadline.UnixMilli()},
		lines: func(lang i18n.Lang) []string {
			return []string{a.catalog.T(lang, "agent.reconfirm.title", "technician", technician)}
		},
		deadline: deadline,
	})
	_ = a.toRelay(protocol.Reconfirm{Outcome: protocol.ReconfirmAsked, DeadlineSeconds: int(wait / time.Second)})
	a.uiDirty = true
}

// chooseScreen is the customer picking a screen on the page: before Allow
// it is the screen that will be shared; while sharing, a switch.
func (a *App) chooseScreen(value string) {
	idx, err := strconv.Atoi(value)
	if err != nil || !slices.ContainsFunc(a.state.Screens, func(s localui.Screen) bool { return s.Index == idx }) {
		return
	}
	if a.state.Phase == localui.PhaseSharing && (idx != a.cfg.Display || a.state.ScreenGone) {
		_ = a.toRelay(protocol.ScreenSwitch{Index: idx, Granted: true, ByCustomer: true})
		a.switchScreen(idx)
		return
	}
	a.cfg.Display, a.state.Screen = idx, idx
}

// switchScreen shares another screen: a new stream, offered afresh.
func (a *App) switchScreen(idx int) {
	a.cfg.Display, a.state.Screen = idx, idx
	a.publish()
	a.stopSharing()
	a.startSharing()
}

func (a *App) askScreen(idx int) {
	i := slices.IndexFunc(a.state.Screens, func(s localui.Screen) bool { return s.Index == idx })
	if i < 0 || idx == a.cfg.Display {
		return
	}
	technician, name := a.state.Technician, a.state.Screens[i].Name
	a.ask(&question{
		prompt: localui.Prompt{Kind: localui.PromptScreen},
		lines: func(lang i18n.Lang) []string {
			return []string{a.catalog.T(lang, "agent.screen.ask", "technician", technician, "name", name)}
		},
		screen: idx,
	})
}

func (a *App) sendScreens() {
	if a.sender == nil {
		return
	}
	var list []datachannel.Screen
	for _, s := range a.state.Screens {
		list = append(list, datachannel.Screen{Index: s.Index, Name: s.Name, Width: s.Width, Height: s.Height,
			Primary: s.Index == 0})
	}
	if len(list) > 0 {
		_ = a.sender.Send(datachannel.Screens{List: list})
	}
	a.sendDesktop()
}
