package twiliotransport

import (
	"bufio"
	"net"
	"net/http"
)

// streamWriteBuffer is the size of an accepted stream's write buffer. net/http hands a
// hijacked connection over with a 4 KiB writer, which the WebSocket library keeps for
// the whole call; what we send Twilio is a few hundred bytes a message (20 ms of audio,
// a mark, a clear), so half of that is plenty: 2 KiB less per call. A larger message
// still goes out whole, in two writes. The reader keeps net/http's 4 KiB: under load
// one read takes in several queued frames.
const streamWriteBuffer = 2 << 10

// smallBuffers gives the WebSocket library a hijacked connection whose writer is
// streamWriteBuffer bytes instead of net/http's.
type smallBuffers struct {
	http.ResponseWriter
}

// Hijack hijacks the connection and replaces its writer (empty after a hijack: should
// net/http ever leave bytes in it, its own writer is kept).
func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil || brw.Writer.Buffered() > 0 {
		return conn, brw, err
	}
	return conn, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(conn, streamWriteBuffer)), nil
}

func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }
