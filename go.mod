module github.com/ov2dev/ov2

go 1.26.0

require (
	github.com/google/gopacket v1.1.19
	github.com/klauspost/cpuid/v2 v2.4.2
	golang.org/x/sys v0.49.0
)

require golang.org/x/net v0.0.0-20190620200207-3b0461eec859 // indirect
