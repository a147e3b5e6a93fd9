// Command netemtool supports bench/netem.sh: "wire" joins two network
// namespaces by a pair of TUN devices and delays every packet each way, for
// kernels without the netem queueing discipline; "sink" is an HTTPS server
// that reads and discards uploads, the far end of the curl baseline.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	log.SetFlags(0)
	if len(os.Args) < 2 {
		log.Fatal("usage: netemtool wire -a DEV -b DEV -delay 100ms | netemtool sink -listen ADDR")
	}
	switch os.Args[1] {
	case "wire":
		fs := flag.NewFlagSet("wire", flag.ExitOnError)
		a := fs.String("a", "fwire-a", "first TUN device to create")
		b := fs.String("b", "fwire-b", "second TUN device to create")
		delay := fs.Duration("delay", 100*time.Millisecond, "delay added to every packet, each way")
		fs.Parse(os.Args[2:])
		wire(*a, *b, *delay)
	case "sink":
		fs := flag.NewFlagSet("sink", flag.ExitOnError)
		listen := fs.String("listen", ":9443", "address to serve HTTPS on")
		fs.Parse(os.Args[2:])
		sink(*listen)
	default:
		log.Fatalf("unknown command %q", os.Args[1])
	}
}

// openTUN creates a TUN device (IP packets, no extra header) and returns it.
func openTUN(name string) *os.File {
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err != nil {
		log.Fatalf("open /dev/net/tun: %v", err)
	}
	var req struct {
		name  [16]byte
		flags uint16
		_     [22]byte
	}
	copy(req.name[:], name)
	req.flags = 0x0001 | 0x1000 // IFF_TUN | IFF_NO_PI
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), 0x400454ca /* TUNSETIFF */, uintptr(unsafe.Pointer(&req))); errno != 0 {
		log.Fatalf("create TUN %s: %v", name, errno)
	}
	return f
}

type packet struct {
	due  time.Time
	data []byte
}

// wire copies packets between the two devices, each delay late. The devices
// stay open while the process runs; bench/netem.sh moves them into its
// namespaces and gives them addresses.
func wire(a, b string, delay time.Duration) {
	ta, tb := openTUN(a), openTUN(b)
	go forward(ta, tb, delay)
	go forward(tb, ta, delay)
	fmt.Println("ready")
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}

func forward(from, to *os.File, delay time.Duration) {
	queue := make(chan packet, 1<<16)
	go func() {
		for p := range queue {
			if d := time.Until(p.due); d > 0 {
				time.Sleep(d)
			}
			to.Write(p.data)
		}
	}()
	for {
		buf := make([]byte, 65536)
		n, err := from.Read(buf)
		if err != nil {
			log.Fatalf("read: %v", err)
		}
		queue <- packet{due: time.Now().Add(delay), data: buf[:n:n]}
	}
}

// sink serves HTTPS with a throwaway certificate and answers every request
// after reading its body to the end.
func sink(listen string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sink"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: listen, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%d\n", n)
	}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}}
	fmt.Println("ready")
	log.Fatal(srv.ListenAndServeTLS("", ""))
}
