package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// exitStatus is an error that sets the program's exit status without a message of its
// own (what happened was already printed).
type exitStatus struct {
	code int
	why  string
}

func (e *exitStatus) Error() string { return e.why }

// signals watches SIGINT and SIGTERM for one run. The first cancels the run's context,
// so that the run stops within a second and reports what it did; a second one quits at
// once (after cleanup, which must be safe to call from another goroutine), with the exit
// status of the first.
type signals struct {
	ch   chan os.Signal
	done chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	got  os.Signal
}

// interruptible returns a context that the first SIGINT or SIGTERM cancels, and the
// watcher; call stop when the run is over.
func interruptible(stderr io.Writer, who string, cleanup func()) (context.Context, *signals) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &signals{ch: make(chan os.Signal, 2), done: make(chan struct{})}
	signal.Notify(s.ch, syscall.SIGINT, syscall.SIGTERM)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		select {
		case sig := <-s.ch:
			s.mu.Lock()
			s.got = sig
			s.mu.Unlock()
			brk := "" // a blank line after the terminal's "^C" and any progress line; none in a log
			if isTerminal(stderr) {
				brk = "\n"
			}
			fmt.Fprintf(stderr, "%s%s: %s: stopping; the packets in the NIC complete, then the report (again to quit at once)\n", brk, who, name(sig))
			cancel()
		case <-s.done:
			return
		}
		select {
		case sig := <-s.ch:
			cleanup()
			fmt.Fprintf(stderr, "%s: %s again: quitting at once; no output file left\n", who, name(sig))
			os.Exit(statusOf(s.first()))
		case <-s.done:
		}
	}()
	return ctx, s
}

// stop ends the watch and restores the default handling of the signals.
func (s *signals) stop() {
	signal.Stop(s.ch)
	close(s.done)
	s.wg.Wait()
}

func (s *signals) first() os.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got
}

// exit is the error that ends an interrupted run: "interrupted by SIGINT; " and what
// was done, with the shell's status for the signal (130 for SIGINT, 143 for SIGTERM).
func (s *signals) exit(done string) error {
	sig := s.first()
	return &exitStatus{code: statusOf(sig), why: "interrupted by " + name(sig) + "; " + done}
}

func statusOf(sig os.Signal) int {
	if n, ok := sig.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 130
}

func name(sig os.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case nil:
		return "a signal"
	}
	return sig.String()
}
