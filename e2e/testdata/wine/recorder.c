/* A small Windows program for the Wine test: a window at (100,100),
 * 600x400, that appends what it receives to the file named on its command
 * line: "click X Y" (screen pixels) for a left button press, and each
 * WM_CHAR as UTF-8 after "char ". It prints "ready" once the window shows.
 * The agent's SendInput must reach an ordinary Windows program this way. */
#include <windows.h>
#include <stdio.h>

static FILE *out;
static WCHAR pending; /* a high surrogate waiting for its pair */

static void put_char(WCHAR c) {
	WCHAR units[2];
	int n = 0;
	char utf8[8];
	if (c >= 0xD800 && c <= 0xDBFF) {
		pending = c;
		return;
	}
	if (pending) {
		units[n++] = pending;
		pending = 0;
	}
	units[n++] = c;
	int len = WideCharToMultiByte(CP_UTF8, 0, units, n, utf8, sizeof utf8, NULL, NULL);
	fprintf(out, "char %.*s\n", len, utf8);
	fflush(out);
}

static LRESULT CALLBACK proc(HWND w, UINT msg, WPARAM wp, LPARAM lp) {
	switch (msg) {
	case WM_LBUTTONDOWN: {
		POINT p = {(short)LOWORD(lp), (short)HIWORD(lp)};
		ClientToScreen(w, &p);
		fprintf(out, "click %ld %ld\n", p.x, p.y);
		fflush(out);
		SetFocus(w);
		return 0;
	}
	case WM_CHAR:
		put_char((WCHAR)wp);
		return 0;
	case WM_DESTROY:
		PostQuitMessage(0);
		return 0;
	}
	return DefWindowProcW(w, msg, wp, lp);
}

int wmain(int argc, WCHAR **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: recorder FILE\n");
		return 2;
	}
	out = _wfopen(argv[1], L"ab");
	if (!out) {
		fprintf(stderr, "cannot open the output file\n");
		return 1;
	}
	WNDCLASSW wc = {0};
	wc.lpfnWndProc = proc;
	wc.hInstance = GetModuleHandleW(NULL);
	wc.hbrBackground = (HBRUSH)GetStockObject(WHITE_BRUSH);
	wc.lpszClassName = L"MeekijkRecorder";
	RegisterClassW(&wc);
	HWND w = CreateWindowExW(WS_EX_TOPMOST, wc.lpszClassName, L"recorder", WS_POPUP | WS_VISIBLE,
		100, 100, 600, 400, NULL, NULL, wc.hInstance, NULL);
	if (!w)
		return 1;
	SetForegroundWindow(w);
	SetFocus(w);
	printf("ready\n");
	fflush(stdout);
	MSG m;
	while (GetMessageW(&m, NULL, 0, 0) > 0) {
		TranslateMessage(&m);
		DispatchMessageW(&m);
	}
	return 0;
}
