package twiliotransport

// Timeline follows the caller's audio clock from Twilio's media.timestamp (ms since the
// stream started, of the audio each frame carries), to find the silence a carrier with
// silence suppression left out: the frames it omits leave the timestamps jumping.
//
// It only counts: the caller of Frame and Pad inserts the silence. Contiguous frames
// need none, so the relay of an unbroken stream is unchanged byte for byte. Timestamps
// that go backward, repeat or are absurd (negative, beyond MaxTimestampMs) insert
// nothing and do not move the clock; a gap is filled with at most MaxGapFillMs.
//
// Pad is the inactivity pad: silence inserted ahead of the next frame while no frame
// arrives. It moves the clock, so the next frame's gap is filled only for what the pad
// did not cover; a frame that then turns out to lie inside padded time (real audio that
// was only late) is reported by Frame, so the caller can stop padding on that call.
//
// A Timeline is not safe for concurrent use.
type Timeline struct {
	started bool
	next    int64 // timestamp the next contiguous frame carries, in ms
	padded  int64 // ms padded since the last frame
}

const (
	// MaxGapFillMs bounds the silence inserted for one gap: enough for any voice
	// activity detector to hear the caller stop, without replaying long pauses.
	MaxGapFillMs = 2000
	// MinGapMs is the smallest gap filled: less is rounding between frame sizes.
	MinGapMs = 10
	// MaxTimestampMs is beyond any call (a day): a larger timestamp is garbage.
	MaxTimestampMs = 24 * 3600 * 1000
)

// FrameResult is what Frame decided about one frame.
type FrameResult struct {
	// FillMs is the silence to insert before the frame, in ms (0 when contiguous).
	FillMs int64
	// Overlap is true when the frame lies inside time already padded: a pad inserted
	// silence where real audio later arrived.
	Overlap bool
	// Omitted is true when the timestamps show silence was left out before this
	// frame: a gap, or a first frame that starts well after the stream did (a
	// carrier with silence suppression; Twilio's first frame otherwise comes at
	// about 20 ms).
	Omitted bool
}

// firstFrameLateMs is how late a stream's first frame may start before the
// silence before it counts as omitted.
const firstFrameLateMs = 200

// Frame accounts for a frame carrying size bytes of μ-law at timestamp ts (ms) and
// reports the silence to insert before it.
func (t *Timeline) Frame(ts int64, size int) FrameResult {
	if ts < 0 || ts > MaxTimestampMs {
		return FrameResult{}
	}
	end := ts + int64(size)/BytesPerMs
	if !t.started {
		t.started, t.next, t.padded = true, end, 0
		return FrameResult{Omitted: ts >= firstFrameLateMs}
	}
	gap := ts - t.next
	padded := t.padded
	t.padded = 0
	if gap < 0 {
		// Backward or repeated: relay it, fill nothing, keep the clock.
		return FrameResult{Overlap: padded > 0 && ts < t.next-MinGapMs && ts >= t.next-padded-MinGapMs}
	}
	t.next = end
	if gap < MinGapMs {
		return FrameResult{}
	}
	return FrameResult{FillMs: min(gap, max(MaxGapFillMs-padded, 0)), Omitted: true}
}

// Pad records ms of silence inserted while no frame arrived, and returns how much may
// be inserted: at most limit ms padded since the last frame in all. Before the first
// frame nothing is padded. A gap found later is filled only beyond the pad, and the pad
// and the fill of one silence together stay within MaxGapFillMs.
func (t *Timeline) Pad(ms, limit int64) int64 {
	if !t.started || ms <= 0 {
		return 0
	}
	ms = min(ms, limit-t.padded)
	if ms <= 0 {
		return 0
	}
	t.padded += ms
	t.next += ms
	return ms
}

// Padded is the silence padded since the last frame, in ms.
func (t *Timeline) Padded() int64 { return t.padded }
