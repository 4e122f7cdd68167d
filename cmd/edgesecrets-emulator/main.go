// Command edgesecrets-emulator serves local stand-ins for the Fly.io
// Machines API secrets endpoints and the Cloudflare Secrets Store API on one
// loopback port, then prints the shell exports that point edgesecrets at it.
//
//	eval "$(edgesecrets-emulator --addr 127.0.0.1:0 --fly-app demo & sleep 1)"
//
// Run it with --help for every flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	var usageErr usageError
	switch {
	case errors.As(err, &usageErr):
		fmt.Fprintf(os.Stderr, "edgesecrets-emulator: %v\nRun edgesecrets-emulator --help for usage.\n", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "edgesecrets-emulator: %v\n", err)
		os.Exit(1)
	}
}

// shutdownGrace bounds how long in-flight requests may finish after a signal.
const shutdownGrace = 5 * time.Second

// run serves until ctx ends. The export lines go to stdout once the listener
// is bound; request logs go to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}

	level := slog.LevelInfo
	if cfg.quiet {
		level = slog.LevelWarn // requests and start/stop lines are Info
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg.opts.Logger = logger
	srv, err := emulator.New(cfg.opts)
	if err != nil {
		return err
	}
	// For the early returns: the normal stop below saves the state and reports its error.
	defer func() { _ = srv.Close() }()

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	baseURL := "http://" + dialableAddr(ln.Addr().(*net.TCPAddr))
	for _, line := range emulator.ExportLines(srv.Env(baseURL)) {
		if _, err := fmt.Fprintln(stdout, line); err != nil {
			_ = ln.Close() // the write's error is the one to report
			return err
		}
	}
	if f, ok := stdout.(interface{ Sync() error }); ok {
		_ = f.Sync() // let a reading script see the lines at once
	}

	httpSrv := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()
	logger.Info("serving", "url", baseURL, "state", stateDescription(cfg.opts.StatePath))

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("shutdown cut in-flight requests short", "error", err)
	}
	if err := srv.Close(); err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// dialableAddr turns a wildcard listen address into one a client can dial.
func dialableAddr(a *net.TCPAddr) string {
	ip := a.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(a.Port))
}

func stateDescription(path string) string {
	if path == "" {
		return "memory"
	}
	return path
}
