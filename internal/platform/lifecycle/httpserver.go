package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// HTTPServer adapts an *http.Server to a Component. Run serves on ln, or
// calls ListenAndServe on srv.Addr when ln is nil. Stop calls Shutdown: the
// listeners close at once (new connections are refused), idle connections
// are closed, and in-flight requests run to completion until the shutdown
// deadline, after which the remaining connections are closed forcibly and
// Stop returns an error. Cancelling Run's context without calling Stop
// closes the server immediately.
func HTTPServer(name string, srv *http.Server, ln net.Listener) Component {
	return &httpServer{name: name, srv: srv, ln: ln}
}

type httpServer struct {
	name string
	srv  *http.Server
	ln   net.Listener
}

var _ Stopper = (*httpServer)(nil)

func (h *httpServer) Name() string { return h.name }

func (h *httpServer) Run(ctx context.Context) error {
	if h.srv == nil {
		return errors.New("lifecycle: http server is nil")
	}
	// Cancellation without a Stop (the shutdown deadline passed before this
	// server's turn) closes the server at once.
	served := make(chan struct{})
	defer close(served)
	go func() {
		select {
		case <-ctx.Done():
			_ = h.srv.Close()
		case <-served:
		}
	}()
	var err error
	if h.ln != nil {
		err = h.srv.Serve(h.ln)
	} else {
		err = h.srv.ListenAndServe()
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serve http: %w", err)
}

func (h *httpServer) Stop(ctx context.Context) error {
	if h.srv == nil {
		return nil
	}
	if err := h.srv.Shutdown(ctx); err != nil {
		_ = h.srv.Close()
		return fmt.Errorf("shutdown http server: %w", err)
	}
	return nil
}
