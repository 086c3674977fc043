/* Test-only stand-in for Windows' bcryptprimitives.dll, which Wine 8 lacks:
 * Go >= 1.22 programs load ProcessPrng from it at start and abort without
 * it. RtlGenRandom (advapi32's SystemFunction036) gives the same kind of
 * bytes. Built with mingw by the Wine tests; never shipped. */
#include <windows.h>
#include <ntsecapi.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!RtlGenRandom(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
