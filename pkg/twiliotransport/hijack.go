package twiliotransport

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
)

// Buffer sizes of an accepted stream's connection. net/http hands a hijacked
// connection over with its own 4 KiB reader and 4 KiB writer, which the WebSocket
// library keeps for the whole call; a Media Streams message is a few hundred bytes
// (20 ms of audio, a mark), so half of that is plenty: 4 KiB less per call. A
// message larger than the writer still goes out whole, in two writes.
const (
	streamReadBuffer  = 2 << 10
	streamWriteBuffer = 2 << 10
)

// smallBuffers gives the WebSocket library a hijacked connection with buffers of
// the sizes above instead of net/http's.
type smallBuffers struct {
	http.ResponseWriter
}

// Hijack hijacks the connection and replaces its buffers. Bytes net/http had
// already read past the request (a client that wrote its first frames at once) are
// carried over into the new reader; in the unlikely case they do not fit, net/http's
// own buffers are kept.
func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return conn, brw, err
	}
	n := brw.Reader.Buffered()
	if n > streamReadBuffer || brw.Writer.Buffered() > 0 {
		return conn, brw, nil
	}
	var r io.Reader = conn
	if n > 0 {
		b, _ := brw.Reader.Peek(n)
		r = io.MultiReader(bytes.NewReader(bytes.Clone(b)), conn)
	}
	br := bufio.NewReaderSize(r, streamReadBuffer)
	if n > 0 {
		// Into the new buffer now (from memory: no read of conn), where the library
		// looks for bytes already buffered.
		if _, err := br.Peek(n); err != nil {
			return conn, brw, nil
		}
	}
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(conn, streamWriteBuffer)), nil
}

func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }
