//go:build !windows

package indicator

import (
	"image"
	"image/color"
	"image/draw"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// The window's layout, in pixels. The window is drawn here, into an image,
// and copied to the screen: the X core protocol has no anti-aliased text.
const (
	winW, winH = 600, 62
	pad        = 14
	btnW, btnH = 96, 34
)

var (
	bgColour     = color.RGBA{0x1f, 0x29, 0x37, 0xff} // dark slate, stands out on any desktop
	edgeColour   = color.RGBA{0xdc, 0x26, 0x26, 0xff}
	textColour   = color.RGBA{0xff, 0xff, 0xff, 0xff}
	detailColour = color.RGBA{0xcb, 0xd5, 0xe1, 0xff}
	dotColour    = color.RGBA{0xef, 0x44, 0x44, 0xff}
	btnColour    = color.RGBA{0xdc, 0x26, 0x26, 0xff}
	btnHover     = color.RGBA{0xb9, 0x1c, 0x1c, 0xff}
)

// stopRect is where the Stop button is.
var stopRect = image.Rect(winW-pad-btnW, (winH-btnH)/2, winW-pad, (winH+btnH)/2)

// faces are the window's fonts.
type faces struct{ bold, regular font.Face }

// fontDirs are where Debian, Fedora and Arch keep DejaVu.
var fontDirs = []string{"/usr/share/fonts/truetype/dejavu/", "/usr/share/fonts/dejavu/", "/usr/share/fonts/TTF/"}

// loadFaces finds DejaVu Sans; without it the window falls back to a
// built-in bitmap font, plainer but legible.
func loadFaces() faces {
	load := func(file string, size float64) font.Face {
		for _, dir := range fontDirs {
			b, err := os.ReadFile(dir + file)
			if err != nil {
				continue
			}
			f, err := opentype.Parse(b)
			if err != nil {
				continue
			}
			face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
			if err == nil {
				return face
			}
		}
		return basicfont.Face7x13
	}
	return faces{bold: load("DejaVuSans-Bold.ttf", 15), regular: load("DejaVuSans.ttf", 12)}
}

// render draws the window: a red dot, who watches, what that means, and
// the Stop button.
func render(img *image.RGBA, fc faces, tx texts, hover bool) {
	fill(img, img.Bounds(), edgeColour)
	fill(img, img.Bounds().Inset(2), bgColour)
	dot(img, image.Pt(pad+7, winH/2), 7, dotColour)

	textX := pad + 24
	maxText := stopRect.Min.X - 12 - textX
	write(img, fc.bold, fit(fc.bold, tx.headline, maxText), textX, 27, textColour)
	write(img, fc.regular, fit(fc.regular, tx.detail, maxText), textX, 46, detailColour)

	btn := btnColour
	if hover {
		btn = btnHover
	}
	fill(img, stopRect, btn)
	// Corners cut off by one pixel: a button, not a box.
	for _, p := range []image.Point{stopRect.Min, {stopRect.Max.X - 1, stopRect.Min.Y},
		{stopRect.Min.X, stopRect.Max.Y - 1}, stopRect.Max.Sub(image.Pt(1, 1))} {
		img.Set(p.X, p.Y, bgColour)
	}
	label := fit(fc.bold, tx.stop, btnW-8)
	w := font.MeasureString(fc.bold, label).Ceil()
	m := fc.bold.Metrics()
	baseline := stopRect.Min.Y + (btnH+m.Ascent.Ceil()-m.Descent.Ceil())/2
	write(img, fc.bold, label, stopRect.Min.X+(btnW-w)/2, baseline, textColour)
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

func dot(img *image.RGBA, centre image.Point, r int, c color.RGBA) {
	for y := -r; y <= r; y++ {
		for x := -r; x <= r; x++ {
			if x*x+y*y <= r*r {
				img.SetRGBA(centre.X+x, centre.Y+y, c)
			}
		}
	}
}

func write(img *image.RGBA, face font.Face, s string, x, baseline int, c color.RGBA) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x, baseline)}
	d.DrawString(s)
}

// fit shortens s with an ellipsis until it fits in width pixels: a long
// technician's name must not run under the Stop button.
func fit(face font.Face, s string, width int) string {
	if font.MeasureString(face, s).Ceil() <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 0 {
		r = r[:len(r)-1]
		if t := string(r) + "…"; font.MeasureString(face, t).Ceil() <= width {
			return t
		}
	}
	return ""
}
