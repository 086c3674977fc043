// Package record turns the H.264 the agent already encodes for the live
// stream into a Matroska recording, cut into chunks that the relay can
// store one by one as they arrive.
//
// The file is an EBML header and a Segment of unknown size holding Info
// and Tracks (chunk 0), followed by one Cluster per later chunk. Every
// Cluster has a known size, so a file cut after any chunk (a killed agent,
// a lost connection) is still a valid Matroska file: Chromium plays it up
// to its end and seeks in it (TestChromiumPlaysAndSeeks). Clusters are cut
// by time, not at keyframes, so recording forces no keyframe on an idle
// screen; while the screen changes a keyframe is asked for every few
// seconds so a seek decodes little. Nothing is ever rewritten, so
// the hash of each chunk taken on arrival stays the hash of those bytes in
// the final file.
package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
)

// maxClusterSpan bounds a cluster's length: block timecodes are signed
// 16-bit milliseconds relative to their cluster.
const maxClusterSpan = 30 * time.Second

// ErrNoKeyframe is returned by Muxer.Add for a frame that cannot open the
// recording: the caller should ask the encoder for a keyframe.
var ErrNoKeyframe = errors.New("record: waiting for a keyframe")

// Muxer packs encoded access units into Matroska chunks. It is not safe
// for concurrent use: the recorder's single goroutine owns it.
type Muxer struct {
	chunk    time.Duration // target span of a cluster
	keyEvery time.Duration // how often a changing screen should bring a keyframe
	size     [2]int        // picture size for the track header

	started      bool
	origin       time.Time     // when the first keyframe was captured
	lastKey      time.Duration // when the last keyframe was captured
	clusterStart time.Duration
	blocks       []ebml.Block
	bytes        int // payload bytes in blocks
}

// NewMuxer returns a Muxer for a width x height picture that closes a
// cluster once it spans chunk, and asks for a keyframe (KeyDue) once
// keyEvery has passed since the last one.
func NewMuxer(width, height int, chunk, keyEvery time.Duration) *Muxer {
	if chunk <= 0 || chunk > maxClusterSpan {
		chunk = 4 * time.Second
	}
	return &Muxer{chunk: chunk, keyEvery: keyEvery, size: [2]int{width, height}}
}

// Add takes one encoded access unit in Annex B form (start-code separated
// NAL units, as OpenH264 writes them) captured at at. It returns the
// chunks it completed, in order: the header when the first keyframe
// arrives, and the open cluster when this frame falls beyond its span (the
// frame then opens the next one). A cluster need not start with a
// keyframe: cut after any cluster the file still plays, decoding from the
// keyframe before. Before the first keyframe Add drops frames and returns
// ErrNoKeyframe.
func (m *Muxer) Add(au []byte, at time.Time) ([][]byte, error) {
	nals := splitAnnexB(au)
	if len(nals) == 0 {
		return nil, nil
	}
	key := isKeyframe(nals)
	var out [][]byte
	if !m.started {
		if !key {
			return nil, ErrNoKeyframe
		}
		hdr, err := m.header(nals)
		if err != nil {
			return nil, err
		}
		out = append(out, hdr)
		m.started = true
		m.origin = at
	}
	t := max(at.Sub(m.origin), m.last())
	if len(m.blocks) > 0 && t-m.clusterStart >= m.chunk {
		c, err := m.Flush()
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
	if len(m.blocks) == 0 {
		m.clusterStart = t
	}
	if key {
		m.lastKey = t
	}
	payload := toLengthPrefixed(nals)
	m.blocks = append(m.blocks, ebml.Block{
		TrackNumber: 1,
		Timecode:    int16((t - m.clusterStart).Milliseconds()),
		Keyframe:    key,
		Data:        [][]byte{payload},
	})
	m.bytes += len(payload)
	return out, nil
}

// last is the time of the newest block, so that timecodes never go back
// when the wall clock does.
func (m *Muxer) last() time.Duration {
	if len(m.blocks) == 0 {
		return m.clusterStart
	}
	return m.clusterStart + time.Duration(m.blocks[len(m.blocks)-1].Timecode)*time.Millisecond
}

// Due reports whether the open cluster has spanned the chunk length as of
// now: an idle screen sends no frame that would close it, so the recorder
// flushes it on a timer, and a crash loses at most a chunk.
func (m *Muxer) Due(now time.Time) bool {
	return m.started && len(m.blocks) > 0 && now.Sub(m.origin)-m.clusterStart >= m.chunk
}

// KeyDue reports whether a keyframe is wanted: the recording has not
// started, or the last keyframe is keyEvery old, so that a seek never
// decodes more than that much video. Asked as frames arrive, it costs an
// idle screen nothing.
func (m *Muxer) KeyDue(now time.Time) bool {
	return !m.started || m.keyEvery > 0 && now.Sub(m.origin)-m.lastKey >= m.keyEvery
}

// Pending is the payload size of the open cluster.
func (m *Muxer) Pending() int { return m.bytes }

// Flush returns the open cluster as a chunk (nil if it is empty) and
// starts a new one at the next keyframe.
func (m *Muxer) Flush() ([]byte, error) {
	if len(m.blocks) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	c := struct {
		Cluster webm.Cluster `ebml:"Cluster"`
	}{webm.Cluster{Timecode: uint64(m.clusterStart.Milliseconds()), SimpleBlock: m.blocks}}
	if err := ebml.Marshal(&c, &buf); err != nil {
		return nil, fmt.Errorf("record: marshal cluster: %w", err)
	}
	m.blocks = nil
	m.bytes = 0
	return buf.Bytes(), nil
}

// header is chunk 0: the EBML header and the start of a Segment of unknown
// size with Info and the one video track, whose CodecPrivate (avcC) comes
// from the first keyframe's SPS and PPS.
func (m *Muxer) header(nals [][]byte) ([]byte, error) {
	avcc, err := avcConfig(nals)
	if err != nil {
		return nil, err
	}
	h := struct {
		Header  webm.EBMLHeader `ebml:"EBML"`
		Segment struct {
			Info   webm.Info   `ebml:"Info"`
			Tracks webm.Tracks `ebml:"Tracks"`
		} `ebml:"Segment,size=unknown"`
	}{
		Header: webm.EBMLHeader{
			EBMLVersion: 1, EBMLReadVersion: 1, EBMLMaxIDLength: 4, EBMLMaxSizeLength: 8,
			DocType: "matroska", DocTypeVersion: 4, DocTypeReadVersion: 2,
		},
	}
	h.Segment.Info = webm.Info{TimecodeScale: uint64(time.Millisecond), MuxingApp: "meekijk", WritingApp: "meekijk-agent"}
	h.Segment.Tracks = webm.Tracks{TrackEntry: []webm.TrackEntry{{
		Name: "screen", TrackNumber: 1, TrackUID: 1, TrackType: 1,
		CodecID: "V_MPEG4/ISO/AVC", CodecPrivate: avcc,
		Video: &webm.Video{PixelWidth: uint64(m.size[0]), PixelHeight: uint64(m.size[1])},
	}}}
	var buf bytes.Buffer
	if err := ebml.Marshal(&h, &buf); err != nil {
		return nil, fmt.Errorf("record: marshal header: %w", err)
	}
	return buf.Bytes(), nil
}

const (
	nalIDR = 5
	nalSPS = 7
	nalPPS = 8
)

// splitAnnexB splits an access unit at its 3- or 4-byte start codes.
func splitAnnexB(b []byte) [][]byte {
	var nals [][]byte
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				if end > start && b[end-1] == 0 {
					end--
				}
				nals = append(nals, b[start:end])
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start < len(b) {
		nals = append(nals, b[start:])
	}
	return nals
}

func isKeyframe(nals [][]byte) bool {
	for _, n := range nals {
		if len(n) > 0 && n[0]&0x1f == nalIDR {
			return true
		}
	}
	return false
}

// toLengthPrefixed writes NAL units with 4-byte big-endian lengths, the
// form Matroska's V_MPEG4/ISO/AVC blocks carry. SPS and PPS stay in each
// keyframe's block, so a decoder that starts at any cluster has them.
func toLengthPrefixed(nals [][]byte) []byte {
	n := 0
	for _, nal := range nals {
		n += 4 + len(nal)
	}
	out := make([]byte, 0, n)
	for _, nal := range nals {
		out = binary.BigEndian.AppendUint32(out, uint32(len(nal)))
		out = append(out, nal...)
	}
	return out
}

// avcConfig builds an AVCDecoderConfigurationRecord (ISO 14496-15) from
// the first SPS and PPS among nals.
func avcConfig(nals [][]byte) ([]byte, error) {
	var sps, pps []byte
	for _, n := range nals {
		switch {
		case len(n) == 0:
		case n[0]&0x1f == nalSPS && sps == nil:
			sps = n
		case n[0]&0x1f == nalPPS && pps == nil:
			pps = n
		}
	}
	if len(sps) < 4 || len(pps) == 0 {
		return nil, errors.New("record: keyframe without SPS and PPS")
	}
	out := []byte{1, sps[1], sps[2], sps[3], 0xfc | 3, 0xe0 | 1}
	out = binary.BigEndian.AppendUint16(out, uint16(len(sps)))
	out = append(out, sps...)
	out = append(out, 1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(pps)))
	out = append(out, pps...)
	return out, nil
}
