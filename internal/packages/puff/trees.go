package puff

// The Huffman code lengths of a dynamic block, and how its header codes
// them, are not free in practice: zlib, GNU gzip and Info-ZIP all build
// them from the block's symbol frequencies with the same algorithm (Jean-
// loup Gailly's trees.c: a heap ordered by frequency then depth, lengths
// limited by the overflow fix-up of gen_bitlen, the code lengths run-length
// coded by scan_tree/send_tree). predictHeader runs that algorithm; when
// its result is exactly a block's header, the token form records a flag
// instead of the header, so a block whose boundaries moved (every block
// after a change in a gzip file) costs nothing for its header.

const (
	lCodes   = 286
	dCodes   = 30
	blCodes  = 19
	heapSize = 2*lCodes + 1
)

// blOrder is the order code length code lengths are sent in.
var blOrder = clOrder

type treeNode struct {
	freq uint32
	dad  int
	len  uint8
}

// buildTree computes code lengths for freq (zlib's build_tree with
// gen_bitlen) into lens and returns max_code, the largest symbol with a
// nonzero frequency (or forced to have a code).
func buildTree(freq []uint32, maxLength int, lens []uint8) int {
	elems := len(freq)
	var tree [heapSize]treeNode
	var depth [heapSize]uint8
	var heap [heapSize]int
	for i := 0; i < elems; i++ {
		tree[i].freq = freq[i]
	}
	heapLen, heapMax := 0, heapSize
	maxCode := -1
	for n := 0; n < elems; n++ {
		if tree[n].freq != 0 {
			heapLen++
			heap[heapLen] = n
			maxCode = n
			depth[n] = 0
		} else {
			tree[n].len = 0
		}
	}
	// At least two codes of nonzero frequency, as the format wants.
	for heapLen < 2 {
		node := 0
		if maxCode < 2 {
			maxCode++
			node = maxCode
		}
		heapLen++
		heap[heapLen] = node
		tree[node].freq = 1
		depth[node] = 0
	}
	smaller := func(n, m int) bool {
		return tree[n].freq < tree[m].freq || (tree[n].freq == tree[m].freq && depth[n] <= depth[m])
	}
	down := func(k int) {
		v := heap[k]
		j := k << 1
		for j <= heapLen {
			if j < heapLen && smaller(heap[j+1], heap[j]) {
				j++
			}
			if smaller(v, heap[j]) {
				break
			}
			heap[k] = heap[j]
			k = j
			j <<= 1
		}
		heap[k] = v
	}
	for n := heapLen / 2; n >= 1; n-- {
		down(n)
	}
	node := elems
	for {
		n := heap[1]
		heap[1] = heap[heapLen]
		heapLen--
		down(1)
		m := heap[1]
		heapMax--
		heap[heapMax] = n
		heapMax--
		heap[heapMax] = m
		tree[node].freq = tree[n].freq + tree[m].freq
		depth[node] = max(depth[n], depth[m]) + 1
		tree[n].dad, tree[m].dad = node, node
		heap[1] = node
		node++
		down(1)
		if heapLen < 2 {
			break
		}
	}
	heapMax--
	heap[heapMax] = heap[1]

	// gen_bitlen
	var blCount [16]int
	tree[heap[heapMax]].len = 0
	overflow := 0
	h := heapMax + 1
	for ; h < heapSize; h++ {
		n := heap[h]
		bits := int(tree[tree[n].dad].len) + 1
		if bits > maxLength {
			bits = maxLength
			overflow++
		}
		tree[n].len = uint8(bits)
		if n > maxCode {
			continue
		}
		blCount[bits]++
	}
	if overflow > 0 {
		for overflow > 0 {
			bits := maxLength - 1
			for blCount[bits] == 0 {
				bits--
			}
			blCount[bits]--
			blCount[bits+1] += 2
			blCount[maxLength]--
			overflow -= 2
		}
		h = heapSize
		for bits := maxLength; bits != 0; bits-- {
			n := blCount[bits]
			for n != 0 {
				h--
				m := heap[h]
				if m > maxCode {
					continue
				}
				tree[m].len = uint8(bits)
				n--
			}
		}
	}
	for i := 0; i < elems; i++ {
		lens[i] = tree[i].len
	}
	return maxCode
}

// rle calls emit for the code-length symbols (with their extra values)
// that scan_tree/send_tree use for lens[0..maxCode].
func rle(lens []uint8, maxCode int, emit func(sym, extra int)) {
	prevlen, nextlen := -1, int(lens[0])
	count, maxCount, minCount := 0, 7, 4
	if nextlen == 0 {
		maxCount, minCount = 138, 3
	}
	for n := 0; n <= maxCode; n++ {
		curlen := nextlen
		nextlen = 0xffff
		if n+1 <= maxCode {
			nextlen = int(lens[n+1])
		}
		count++
		if count < maxCount && curlen == nextlen {
			continue
		} else if count < minCount {
			for ; count > 0; count-- {
				emit(curlen, -1)
			}
		} else if curlen != 0 {
			if curlen != prevlen {
				emit(curlen, -1)
				count--
			}
			emit(16, count-3)
		} else if count <= 10 {
			emit(17, count-3)
		} else {
			emit(18, count-11)
		}
		count = 0
		prevlen = curlen
		switch {
		case nextlen == 0:
			maxCount, minCount = 138, 3
		case curlen == nextlen:
			maxCount, minCount = 6, 3
		default:
			maxCount, minCount = 7, 4
		}
	}
}

// predictHeader returns, in the token form's encoding, the dynamic block
// header trees.c writes for these frequencies.
func predictHeader(lit *[lCodes]uint32, dist *[dCodes]uint32, out []byte) []byte {
	var llens [lCodes + 1]uint8
	var dlens [dCodes + 1]uint8
	lmax := buildTree(lit[:], 15, llens[:lCodes])
	dmax := buildTree(dist[:], 15, dlens[:dCodes])
	var blFreq [blCodes]uint32
	type cl struct{ sym, extra int }
	var syms []cl
	collect := func(sym, extra int) {
		blFreq[sym]++
		syms = append(syms, cl{sym, extra})
	}
	rle(llens[:], lmax, collect)
	rle(dlens[:], dmax, collect)
	var bllens [blCodes]uint8
	buildTree(blFreq[:], 7, bllens[:])
	maxBl := blCodes - 1
	for ; maxBl >= 3; maxBl-- {
		if bllens[blOrder[maxBl]] != 0 {
			break
		}
	}
	out = append(out, byte(lmax+1-257), byte(dmax), byte(maxBl+1-4))
	for i := 0; i <= maxBl; i++ {
		out = append(out, bllens[blOrder[i]])
	}
	for _, c := range syms {
		out = append(out, byte(c.sym))
		if c.extra >= 0 {
			out = append(out, byte(c.extra))
		}
	}
	return out
}
