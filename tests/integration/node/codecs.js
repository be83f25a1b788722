'use strict'
// Snappy, LZ4 and zstd codecs for kafkajs 2.2.4, which only has gzip built in.
//
//   const codecs = require('./codecs')
//   await codecs.register()   // before the first producer.send() / consumer.run()
//
// A kafkajs codec is { compress(encoder) -> Promise<Buffer>, decompress(buffer) -> Promise<Buffer> }
// (encoder.buffer holds the uncompressed records); register() puts ours into
// kafkajs' CompressionCodecs. Only pure-JS / wasm packages are used, so nothing
// needs a native build:
//   snappy  snappyjs 0.7.0 (MIT): raw snappy out, as librdkafka writes it; in,
//           raw snappy or the xerial framing that the Java client writes.
//   lz4     lz4js 0.2.0 (ISC) for the LZ4 blocks, with our own frame layer
//           (the LZ4 frame format is what Kafka means by lz4 for magic 2
//           batches): linked or independent blocks, with or without content
//           size, block and content checksums (verified when present).
//   zstd    @bokuweb/zstd-wasm 0.0.27 (MIT, zstd built to wasm; the .wasm
//           ships in the package): one frame with the content size out;
//           in, one frame with or without a content size (streamed), as
//           librdkafka and the Java client write them.
const { CompressionTypes, CompressionCodecs } = require('kafkajs')
const SnappyJS = require('snappyjs')
const lz4js = require('lz4js')
const xxh32 = require('lz4js/xxh32.js').hash
const zstdWasm = require('@bokuweb/zstd-wasm')

// ---- snappy ---------------------------------------------------------------

// xerial snappy-java framing: magic, int32 version, int32 min compatible
// version, then [int32 big-endian length, raw snappy block]...
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])
const XERIAL_HEADER_LEN = 16

function isXerial (buf) {
  return buf.length >= XERIAL_HEADER_LEN && buf.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)
}

function snappyUncompress (buf) {
  if (!isXerial(buf)) return Buffer.from(SnappyJS.uncompress(buf))
  const chunks = []
  let pos = XERIAL_HEADER_LEN
  while (pos < buf.length) {
    // snappy-java's reader also accepts concatenated streams (a new header).
    if (isXerial(buf.subarray(pos))) {
      pos += XERIAL_HEADER_LEN
      continue
    }
    if (pos + 4 > buf.length) throw new Error(`xerial snappy: truncated chunk length at ${pos}`)
    const len = buf.readUInt32BE(pos)
    pos += 4
    if (pos + len > buf.length) throw new Error(`xerial snappy: chunk of ${len} bytes at ${pos} overruns ${buf.length}`)
    chunks.push(Buffer.from(SnappyJS.uncompress(buf.subarray(pos, pos + len))))
    pos += len
  }
  return Buffer.concat(chunks)
}

const snappy = {
  async compress (encoder) {
    return Buffer.from(SnappyJS.compress(encoder.buffer))
  },
  async decompress (buffer) {
    return snappyUncompress(buffer)
  }
}

// ---- lz4 ------------------------------------------------------------------

// The frame layer is ours: lz4js 0.2.0's own frame reader expects a block's
// checksum before its data (the format puts it after), and checks nothing.
// lz4js decodes the blocks; checksums present are verified.
const LZ4_MAGIC = 0x184d2204
const LZ4_BLOCK_MAX = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 }

function lz4Frames (buf) {
  const frames = []
  let pos = 0
  const need = (n, what) => {
    if (pos + n > buf.length) throw new Error(`lz4: truncated ${what} at ${pos}`)
  }
  while (pos < buf.length) {
    need(7, 'frame header')
    const magic = buf.readUInt32LE(pos)
    if (magic >= 0x184d2a50 && magic <= 0x184d2a5f) { // skippable frame
      need(8, 'skippable frame')
      pos += 8 + buf.readUInt32LE(pos + 4)
      continue
    }
    if (magic !== LZ4_MAGIC) throw new Error(`lz4: bad magic 0x${magic.toString(16)} at ${pos}`)
    const headerStart = pos + 4
    const flg = buf[pos + 4]
    const bd = buf[pos + 5]
    if ((flg >> 6) !== 1) throw new Error(`lz4: frame version ${flg >> 6}`)
    const blockMax = LZ4_BLOCK_MAX[(bd >> 4) & 7]
    if (!blockMax) throw new Error(`lz4: bad block size id ${(bd >> 4) & 7}`)
    const f = { blockMax, blockSum: (flg & 0x10) !== 0, contentSum: (flg & 0x04) !== 0, contentSize: null, blocks: [], bound: 0 }
    pos += 6
    if (flg & 0x08) {
      need(8, 'content size')
      f.contentSize = Number(buf.readBigUInt64LE(pos))
      pos += 8
    }
    if (flg & 0x01) pos += 4 // dictionary id
    need(1, 'header checksum')
    if (buf[pos] !== ((xxh32(0, buf, headerStart, pos - headerStart) >>> 8) & 0xff)) {
      throw new Error('lz4: frame header checksum mismatch')
    }
    pos += 1
    for (;;) {
      need(4, 'block size')
      const word = buf.readUInt32LE(pos)
      pos += 4
      if (word === 0) break
      const len = word & 0x7fffffff
      need(len + (f.blockSum ? 4 : 0), 'block')
      if (f.blockSum && buf.readUInt32LE(pos + len) !== xxh32(0, buf, pos, len)) {
        throw new Error(`lz4: block checksum mismatch at ${pos}`)
      }
      const raw = (word & 0x80000000) !== 0
      f.blocks.push({ start: pos, len, raw })
      f.bound += raw ? len : blockMax
      pos += len + (f.blockSum ? 4 : 0)
    }
    if (f.contentSum) {
      need(4, 'content checksum')
      f.checksum = buf.readUInt32LE(pos)
      pos += 4
    }
    frames.push(f)
  }
  return frames
}

function lz4Uncompress (buf) {
  const frames = lz4Frames(buf)
  const out = Buffer.alloc(frames.reduce((n, f) => n + (f.contentSize ?? f.bound), 0))
  let at = 0
  for (const f of frames) {
    const start = at
    for (const b of f.blocks) {
      if (b.raw) {
        buf.copy(out, at, b.start, b.start + b.len)
        at += b.len
      } else {
        // Blocks of one frame may refer back to earlier ones (linked mode):
        // they are all decoded into the same contiguous output.
        const end = lz4js.decompressBlock(buf, out, b.start, b.len, at)
        if (end > out.length || end - at > f.blockMax) throw new Error('lz4: block overruns its bound')
        at = end
      }
    }
    if (f.contentSize !== null && at - start !== f.contentSize) {
      throw new Error(`lz4: frame holds ${at - start} bytes, its header says ${f.contentSize}`)
    }
    if (f.contentSum && xxh32(0, out, start, at - start) !== f.checksum) {
      throw new Error('lz4: content checksum mismatch')
    }
  }
  return out.subarray(0, at)
}

const lz4 = {
  async compress (encoder) {
    return Buffer.from(lz4js.compress(encoder.buffer))
  },
  async decompress (buffer) {
    return lz4Uncompress(buffer)
  }
}

// ---- zstd -----------------------------------------------------------------

const ZSTD_LEVEL = 3
// ZSTD_error_dstSize_tooSmall, as @bokuweb/zstd-wasm reports it ("... with code -70").
const ZSTD_DST_TOO_SMALL = /code -70$/
const ZSTD_MAX_OUTPUT = 256 * 1024 * 1024
let zstdReady = null

function zstdInit () {
  if (zstdReady === null) zstdReady = zstdWasm.init()
  return zstdReady
}

// A frame without a content size (streamed: librdkafka, the Java client) is
// decompressed into a guessed buffer that doubles until the output fits.
function zstdUncompress (buf) {
  let size = Math.max(1024 * 1024, buf.length * 8)
  for (;;) {
    try {
      return Buffer.from(zstdWasm.decompress(buf, { defaultHeapSize: size }))
    } catch (e) {
      if (!ZSTD_DST_TOO_SMALL.test(e.message) || size >= ZSTD_MAX_OUTPUT) throw e
      size *= 2
    }
  }
}

const zstd = {
  async compress (encoder) {
    await zstdInit()
    return Buffer.from(zstdWasm.compress(encoder.buffer, ZSTD_LEVEL))
  },
  async decompress (buffer) {
    await zstdInit()
    return zstdUncompress(buffer)
  }
}

// ---- registration -------------------------------------------------------------

const codecs = { snappy, lz4, zstd }

async function register () {
  await zstdInit()
  CompressionCodecs[CompressionTypes.Snappy] = () => snappy
  CompressionCodecs[CompressionTypes.LZ4] = () => lz4
  CompressionCodecs[CompressionTypes.ZSTD] = () => zstd
}

// Codec names as Kafka spells them (compression.type) -> kafkajs' CompressionTypes.
const TYPES = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD
}

module.exports = { register, codecs, TYPES, XERIAL_MAGIC }
