// Package datachannel defines the messages that the technician's console and
// the customer's agent exchange over their WebRTC data channel, once the
// video is flowing: remote input, clipboard, file transfer and screen
// selection.
//
// Every message is one data-channel message holding one JSON envelope
// {"type": "...", "data": {...}}, like internal/protocol, and the same rules
// apply: Decode refuses unknown types, unknown fields, trailing bytes and
// oversized input with an error wrapping ErrMalformed. Unlike
// internal/protocol, Decode also validates every value (actions from fixed
// lists, finite coordinates inside the video, bounded text, file ids), because
// these messages end up as keystrokes and files on the customer's machine and
// the console runs in a browser we do not control. Encode applies the same
// checks, so this side never sends what the other side would refuse.
//
// Size limits: a message is at most MaxMessageBytes (64 KiB), except
// file_chunk (MaxChunkMessageBytes: 48 KiB of payload is exactly 64 KiB of
// base64, plus the envelope) and clipboard (MaxClipboardMessageBytes: 100 KiB
// of text, which JSON escaping can double). MaxFrameBytes is the largest of
// them: the receiving side should refuse bigger data-channel messages before
// reading them (pion: SettingEngine.SetSCTPMaxMessageSize), because pion
// otherwise accepts messages up to 1 GiB.
//
// Whether a message is acted upon is not decided here: the agent drops input
// unless the customer granted control, and files unless they accepted them.
//
// # Messages
//
// Remote input, console → agent. Coordinates are in video pixels (the size
// of the video element's intrinsic frame, videoWidth × videoHeight), so the
// console need not know the customer's screen; the agent scales them. button
// is set for down and up only; deltaX and deltaY (pixels, DOM_DELTA_PIXEL;
// the console converts line and page deltas) for wheel only.
//
//	{"type":"pointer","data":{"action":"move","x":640.5,"y":360,"videoWidth":1280,"videoHeight":720}}
//	{"type":"pointer","data":{"action":"down","x":10,"y":20,"button":"left","videoWidth":1280,"videoHeight":720}}
//	{"type":"pointer","data":{"action":"wheel","x":10,"y":20,"deltaY":100,"videoWidth":1280,"videoHeight":720}}
//
// key carries KeyboardEvent.code (the physical key, ASCII letters and digits)
// and KeyboardEvent.key (what the technician's layout made of it, e.g. "é").
// The agent types printable characters by value, because the technician's
// layout is not the customer's. At least one of code and key is set.
//
//	{"type":"key","data":{"action":"down","code":"KeyA","key":"a"}}
//	{"type":"key","data":{"action":"down","code":"Digit2","key":"é"}}
//	{"type":"key","data":{"action":"up","code":"KeyC","key":"c","ctrl":true}}
//
// text carries characters composed outside key events (IME, dead keys on some
// platforms, a compositionend event), typed as they are.
//
//	{"type":"text","data":{"text":"日本"}}
//
// release_all asks the agent to release every key and button it holds for
// the technician (sent by the console when its tab loses focus; the agent
// does the same on its own on revocation, disconnect or hand-over).
//
//	{"type":"release_all","data":{}}
//
// Clipboard, both ways, text only, while the customer grants control: the
// console sends text to put on the customer's clipboard, or asks for it with
// clipboard_request. (Chat goes through the relay, which stores it with the
// session: see docs/protocol.md.)
//
//	{"type":"clipboard","data":{"text":"BE0123.456.789"}}
//	{"type":"clipboard_request","data":{}}
//
// Files, either way; the sender offers, the receiver answers file_accept or
// file_decline (only after the customer decided, on the agent), then the
// sender sends file_chunk in order (offset equals the bytes sent before it,
// data at most MaxChunkBytes, base64 in JSON) and file_done with the SHA-256
// of the whole file. Either side may send file_cancel at any time; the
// receiver reports file_progress. sha256 is 64 lowercase hex digits, and
// optional in file_offer. id is chosen by the sender: [A-Za-z0-9-]{1,64}.
//
//	{"type":"file_offer","data":{"id":"f-1","name":"factuur 2026-001.pdf","size":5,"sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}}
//	{"type":"file_accept","data":{"id":"f-1"}}
//	{"type":"file_decline","data":{"id":"f-1"}}
//	{"type":"file_chunk","data":{"id":"f-1","offset":0,"data":"aGVsbG8="}}
//	{"type":"file_done","data":{"id":"f-1","sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}}
//	{"type":"file_cancel","data":{"id":"f-1","reason":"customer cancelled"}}
//	{"type":"file_progress","data":{"id":"f-1","bytes":5}}
//
// Screens: the agent lists the customer's screens (index is what
// screen_switch_request names; at most one is primary), and the console asks
// to watch another one.
//
//	{"type":"screens","data":{"list":[{"index":0,"name":"Built-in display","width":1920,"height":1080,"primary":true},{"index":1,"name":"DELL U2720Q","width":3840,"height":2160}]}}
//	{"type":"screen_switch_request","data":{"index":1}}
//
// Desktop: the agent says how it captures the screen and whether the
// customer's screen shows a secure desktop (a Windows UAC prompt or the
// Ctrl+Alt+Del screen) that it can neither capture nor control.
//
//	{"type":"desktop","data":{"capture":"gdi"}}
//	{"type":"desktop","data":{"capture":"dxgi","secure":true}}
package datachannel
