//go:build linux && cgo

package capture

/*
#cgo LDFLAGS: -lX11 -lXext -lXdamage
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XShm.h>
#include <X11/extensions/Xdamage.h>

// Everything this file asks of the X server goes through the functions
// below, each one cgo call that traps X errors around its requests:
// Xlib's default handler would print and exit the whole agent over a
// BadMatch. The trap is per thread, and a cgo call stays on its thread.
static __thread Display *mk_trap_dpy;
static __thread int mk_trap_code;
static XErrorHandler mk_prev_handler;

static int mk_on_error(Display *dpy, XErrorEvent *ev) {
	if (dpy == mk_trap_dpy) {
		if (mk_trap_code == 0)
			mk_trap_code = ev->error_code;
		return 0;
	}
	// Another library's display (robotgo's): not ours to judge.
	return mk_prev_handler ? mk_prev_handler(dpy, ev) : 0;
}

static XIOErrorHandler mk_prev_io_handler;

// Xlib's default I/O error handler exits the process; for our display
// returning lets the display's exit handler (mk_on_io_exit) run instead.
static int mk_on_io_error(Display *dpy) {
	if (dpy == mk_trap_dpy)
		return 0;
	return mk_prev_io_handler ? mk_prev_io_handler(dpy) : 0;
}

static void mk_install_handlers(void) {
	mk_prev_handler = XSetErrorHandler(mk_on_error);
	mk_prev_io_handler = XSetIOErrorHandler(mk_on_io_error);
}

typedef struct {
	Display *dpy;
	Window root;
	int damage_event;
	Damage damage;
	XShmSegmentInfo shm;
	XImage *img;
	// mk_poll's findings, here rather than behind out-parameters so
	// that a poll allocates nothing on the Go side.
	int damaged, resized;
	// dead is set when the connection broke (X server gone): Xlib then
	// leaves the display locked and unusable, so no call may touch it.
	int dead;
} mk_x;

static void mk_trap(mk_x *x) {
	mk_trap_dpy = x->dpy;
	mk_trap_code = 0;
}

// mk_untrap returns the first X error trapped since mk_trap, -1 if the
// connection broke, 0 if all went well.
static int mk_untrap(mk_x *x) {
	mk_trap_dpy = NULL;
	return x->dead ? -1 : mk_trap_code;
}

// After an I/O error Xlib calls the display's exit handler, exit() by
// default; recording the death instead lets Grab report it.
static void mk_on_io_exit(Display *dpy, void *data) {
	((mk_x *)data)->dead = 1;
}

// mk_open connects to $DISPLAY and subscribes to damage and to the root
// window's size changes. It returns 0, or a step number for the error.
static int mk_open(mk_x *x) {
	int ev, err, major = 1, minor = 1;
	x->dpy = XOpenDisplay(NULL);
	if (!x->dpy)
		return 1;
	XSetIOErrorExitHandler(x->dpy, mk_on_io_exit, x);
	if (!XShmQueryExtension(x->dpy))
		return 2;
	if (!XDamageQueryExtension(x->dpy, &ev, &err) || !XDamageQueryVersion(x->dpy, &major, &minor))
		return 3;
	x->damage_event = ev + XDamageNotify;
	x->root = DefaultRootWindow(x->dpy);
	Visual *v = DefaultVisual(x->dpy, DefaultScreen(x->dpy));
	if (DefaultDepth(x->dpy, DefaultScreen(x->dpy)) != 24 || v->red_mask != 0xff0000 ||
	    v->green_mask != 0xff00 || v->blue_mask != 0xff)
		return 4;
	mk_trap(x);
	// NonEmpty: one event when the damaged region goes from empty to
	// not, however much is drawn after; each grab empties it again.
	x->damage = XDamageCreate(x->dpy, x->root, XDamageReportNonEmpty);
	XSelectInput(x->dpy, x->root, StructureNotifyMask);
	XSync(x->dpy, False);
	return mk_untrap(x) ? 5 : 0;
}

// mk_free_image detaches and frees the segment. The segment was marked
// for removal as soon as both sides had attached, so detaching is what
// returns it to the kernel.
static void mk_free_image(mk_x *x) {
	if (!x->img)
		return;
	if (!x->dead) {
		mk_trap(x);
		XShmDetach(x->dpy, &x->shm);
		XSync(x->dpy, False);
		mk_untrap(x);
	}
	shmdt(x->shm.shmaddr);
	x->img->data = NULL; // not malloc'ed: XDestroyImage must not free it
	XDestroyImage(x->img);
	x->img = NULL;
}

// mk_alloc makes a w x h image in a new shared segment. It returns 0, an
// X error code, or a negative step number.
static int mk_alloc(mk_x *x, int w, int h) {
	if (x->dead)
		return -1;
	Visual *v = DefaultVisual(x->dpy, DefaultScreen(x->dpy));
	x->img = XShmCreateImage(x->dpy, v, 24, ZPixmap, NULL, &x->shm, w, h);
	if (!x->img)
		return -2;
	if (x->img->bits_per_pixel != 32 || x->img->byte_order != LSBFirst) {
		XDestroyImage(x->img);
		x->img = NULL;
		return -3;
	}
	x->shm.shmid = shmget(IPC_PRIVATE, (size_t)x->img->bytes_per_line * x->img->height, IPC_CREAT | 0600);
	if (x->shm.shmid < 0) {
		XDestroyImage(x->img);
		x->img = NULL;
		return -4;
	}
	x->shm.shmaddr = x->img->data = shmat(x->shm.shmid, NULL, 0);
	if (x->shm.shmaddr == (char *)-1) {
		shmctl(x->shm.shmid, IPC_RMID, NULL);
		x->img->data = NULL;
		XDestroyImage(x->img);
		x->img = NULL;
		return -5;
	}
	x->shm.readOnly = False;
	mk_trap(x);
	Status ok = XShmAttach(x->dpy, &x->shm);
	XSync(x->dpy, False);
	int code = mk_untrap(x);
	// Both sides are attached (or the server never will be): from here
	// the kernel frees the segment when the last one detaches, even if
	// the agent is killed.
	shmctl(x->shm.shmid, IPC_RMID, NULL);
	if (!ok || code) {
		mk_free_image(x);
		return code ? code : -6;
	}
	return 0;
}

// mk_poll drains the event queue without blocking, setting damaged and
// resized when it saw damage or a root size change. It returns 0, an X
// error code, or -1.
static int mk_poll(mk_x *x) {
	mk_trap(x);
	while (!x->dead && XPending(x->dpy) > 0) {
		XEvent ev;
		XNextEvent(x->dpy, &ev);
		if (ev.type == x->damage_event)
			x->damaged = 1;
		else if (ev.type == ConfigureNotify && ev.xconfigure.window == x->root)
			x->resized = 1;
	}
	return mk_untrap(x);
}

// mk_grab copies the screen at (left, top) into the image. With subtract
// set it first empties the damage region, so anything drawn from then on
// is reported again even if the copy already shows part of it.
static int mk_grab(mk_x *x, int left, int top, int subtract) {
	if (x->dead)
		return -1;
	mk_trap(x);
	if (subtract)
		XDamageSubtract(x->dpy, x->damage, None, None);
	Status ok = XShmGetImage(x->dpy, x->root, x->img, left, top, AllPlanes);
	int code = mk_untrap(x);
	if (code)
		return code;
	return ok ? 0 : -7;
}

// mk_fd is the X connection's socket, to wait on for events; -1 once the
// connection is dead.
static int mk_fd(mk_x *x) {
	return x->dead ? -1 : ConnectionNumber(x->dpy);
}

static void mk_close(mk_x *x) {
	mk_free_image(x);
	if (x->dpy && !x->dead) {
		mk_trap(x);
		if (x->damage)
			XDamageDestroy(x->dpy, x->damage);
		mk_untrap(x);
		XCloseDisplay(x->dpy);
	}
	// A dead display is left as Xlib left it (locked); its memory is
	// the price of not exiting.
	x->dpy = NULL;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xinerama"
)

var installHandlers sync.Once

// xshm captures one display through a long-lived X connection into a
// shared-memory image, using DAMAGE to skip grabs of an idle screen.
type xshm struct {
	x       *C.mk_x // C memory: Xlib keeps a pointer to it
	display int

	mu     sync.Mutex // guards bounds, which Bounds reads from any goroutine
	bounds image.Rectangle
	// origin is where desktop coordinates (kbinani's, relative to the
	// primary display) start on the root window.
	origin image.Point

	// The rest belongs to the goroutine calling Capture, Grab and Close.
	pix    []byte // the segment, as Go sees it; nil when there is none
	stride int
	// dirty means the screen may differ from what the last successful
	// Grab delivered: set by damage, a resize, or a failed grab.
	dirty  bool
	closed bool
}

// errXDead and xError's other errors are always wrapped with the
// operation, which carries the package prefix.
var errXDead = errors.New("connection to the X server lost")

// newXShm opens the shared-memory source for a display whose desktop
// rectangle is b, or says why it cannot.
func newXShm(display int, b image.Rectangle) (*xshm, error) {
	installHandlers.Do(func() { C.mk_install_handlers() })
	x := (*C.mk_x)(C.calloc(1, C.sizeof_mk_x))
	if step := C.mk_open(x); step != 0 {
		C.mk_close(x)
		C.free(unsafe.Pointer(x))
		return nil, fmt.Errorf("capture: X11 shared memory unavailable (step %d)", int(step))
	}
	s := &xshm{x: x, display: display, bounds: b, dirty: true}
	var err error
	if s.origin, err = primaryOrigin(); err == nil {
		err = s.alloc(b.Size())
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// primaryOrigin returns the root-window corner of the first Xinerama
// screen, which kbinani's display bounds are relative to.
func primaryOrigin() (image.Point, error) {
	c, err := xgb.NewConn()
	if err != nil {
		return image.Point{}, fmt.Errorf("capture: connect for Xinerama: %w", err)
	}
	defer c.Close()
	if err := xinerama.Init(c); err != nil {
		return image.Point{}, fmt.Errorf("capture: Xinerama: %w", err)
	}
	r, err := xinerama.QueryScreens(c).Reply()
	if err != nil {
		return image.Point{}, fmt.Errorf("capture: Xinerama screens: %w", err)
	}
	if len(r.ScreenInfo) == 0 {
		return image.Point{}, errors.New("capture: Xinerama lists no screens")
	}
	return image.Pt(int(r.ScreenInfo[0].XOrg), int(r.ScreenInfo[0].YOrg)), nil
}

func (s *xshm) alloc(size image.Point) error {
	C.mk_free_image(s.x)
	s.pix = nil
	if code := C.mk_alloc(s.x, C.int(size.X), C.int(size.Y)); code != 0 {
		return fmt.Errorf("capture: shared image %v: %w", size, xError(code))
	}
	s.stride = int(s.x.img.bytes_per_line)
	s.pix = unsafe.Slice((*byte)(unsafe.Pointer(s.x.shm.shmaddr)), s.stride*size.Y)
	return nil
}

func xError(code C.int) error {
	switch {
	case code == -1:
		return errXDead
	case code < 0:
		return fmt.Errorf("shared memory setup failed (step %d)", -int(code))
	default:
		return fmt.Errorf("error %d from the X server", int(code))
	}
}

func (s *xshm) Bounds() image.Rectangle {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bounds
}

func (s *xshm) String() string {
	return fmt.Sprintf("X11 MIT-SHM+DAMAGE %v", s.Bounds())
}

func (*xshm) Method() string { return MethodX11SHM }

// poll takes in the damage and resize events that arrived since the
// last call; it does not wait for any.
func (s *xshm) poll() error {
	if s.closed {
		return errors.New("capture: source closed")
	}
	if code := C.mk_poll(s.x); code != 0 {
		return fmt.Errorf("capture: read X events: %w", xError(code))
	}
	if s.x.damaged != 0 {
		s.dirty = true
	}
	resized := s.x.resized != 0
	s.x.damaged, s.x.resized = 0, 0
	if resized || s.pix == nil {
		return s.resize()
	}
	return nil
}

// waitChange waits up to timeout for damage or a resize, without
// capturing. Events Xlib already read are in its queue, which poll
// drains first; after that, only the socket can bring news, and nothing
// else reads it meanwhile (this goroutine owns the display).
func (s *xshm) waitChange(timeout time.Duration) (bool, error) {
	if err := s.poll(); err != nil || s.dirty {
		return s.dirty, err
	}
	fd := int(C.mk_fd(s.x))
	if fd < 0 {
		return false, fmt.Errorf("capture: wait for damage: %w", errXDead)
	}
	var set syscall.FdSet
	set.Bits[fd/64] |= 1 << (uint(fd) % 64)
	tv := syscall.NsecToTimeval(timeout.Nanoseconds())
	if _, err := syscall.Select(fd+1, &set, nil, nil, &tv); err != nil && !errors.Is(err, syscall.EINTR) {
		return false, fmt.Errorf("capture: wait for damage: %w", err)
	}
	if err := s.poll(); err != nil {
		return false, err
	}
	return s.dirty, nil
}

// resize follows the display's new rectangle, replacing the segment when
// its size changed.
func (s *xshm) resize() error {
	s.dirty = true
	b, err := displayBounds(s.display)
	if err != nil {
		return err
	}
	if s.origin, err = primaryOrigin(); err != nil {
		return err
	}
	s.mu.Lock()
	old := s.bounds
	s.bounds = b
	s.mu.Unlock()
	if s.pix != nil && b.Size() == old.Size() {
		return nil
	}
	return s.alloc(b.Size())
}

// shot copies the screen into the segment.
func (s *xshm) shot(subtractDamage bool) error {
	b := s.Bounds()
	at := b.Min.Add(s.origin)
	sub := C.int(0)
	if subtractDamage {
		sub = 1
	}
	if code := C.mk_grab(s.x, C.int(at.X), C.int(at.Y), sub); code != 0 {
		err := xError(code)
		if !errors.Is(err, errXDead) {
			// Most likely the screen shrank under us (BadMatch):
			// look again before the next attempt.
			if rerr := s.resize(); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		return fmt.Errorf("capture: grab %v: %w", b, err)
	}
	return nil
}

func (s *xshm) grab(dst *image.YCbCr) error {
	if err := s.poll(); err != nil {
		return err
	}
	if err := fits(dst, s.Bounds().Size()); err != nil {
		return err
	}
	if !s.dirty {
		return ErrUnchanged
	}
	if err := s.shot(true); err != nil {
		return err
	}
	toI420(dst, s.pix, s.stride, orderBGRX)
	s.dirty = false
	return nil
}

// Capture returns an RGBA copy of the screen. It leaves the damage state
// alone: Grab's "unchanged" is relative to the last Grab only.
func (s *xshm) Capture() (*image.RGBA, error) {
	if err := s.poll(); err != nil {
		return nil, err
	}
	if err := s.shot(false); err != nil {
		return nil, err
	}
	return bgrxToRGBA(s.pix, s.stride, s.Bounds()), nil
}

// Close detaches the segment and closes the connection. It is safe to
// call more than once. After the X server went away it still releases
// the segment, and leaks the little that Xlib keeps locked.
func (s *xshm) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.pix = nil
	dead := s.x.dead != 0
	C.mk_close(s.x)
	if !dead {
		// A dead display's exit handler still points at x.
		C.free(unsafe.Pointer(s.x))
	}
	s.x = nil
	return nil
}
