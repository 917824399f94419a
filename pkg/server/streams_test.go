package server

// dropPending ends every pending call at once, as its window's end would: tests
// that leave answered webhooks without their stream do not wait for it at cleanup.
func (s *Server) dropPending() {
	s.mu.Lock()
	ps := make([]*pendingStream, 0, len(s.pending))
	for _, p := range s.pending {
		ps = append(ps, p)
	}
	s.mu.Unlock()
	for _, p := range ps {
		if p.timer.Stop() {
			s.expire(p)
		}
	}
}
