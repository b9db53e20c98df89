//go:build !unix

package pcap

const canWritev = false

type iovec struct{}

func (w *Writer) writev([][]byte) error { panic("pcap: writev without unix") }

func (w *Writer) writevOnce(uintptr) bool { return true }
