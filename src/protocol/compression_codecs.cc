// The four codecs behind compress()/decompress(); framing rules are described
// in compression.h.
#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "samsa/protocol/compression.h"

namespace samsa::protocol {
namespace {

[[noreturn]] void fail(const char* codec, const std::string& what) {
  throw DecodeError(std::string(codec) + ": " + what);
}

// Output of one decompression call: appends to `out`, handing the codec
// buffers one byte larger than what is left of the budget, so producing a
// byte too many is how an oversized output is detected.
class BoundedSink {
 public:
  BoundedSink(std::vector<uint8_t>& out, size_t max_output, const char* codec)
      : out_(out), base_(out.size()), max_(max_output), codec_(codec) {}

  size_t produced() const { return out_.size() - base_; }

  // Writable space at the end of `out`: about `hint` bytes at first (capped,
  // since the hint comes from the input size), then as much as was produced
  // so far, so growth is geometric.
  std::span<uint8_t> grow(size_t hint) {
    size_t left = max_ - produced();  // produced() <= max_ after every commit
    size_t n = std::max({std::min(hint, kMaxFirstChunk), produced(), size_t{256}});
    if (left < n) n = left + 1;  // left < n <= SIZE_MAX, so no overflow
    size_t old = out_.size();
    out_.resize(old + n);
    return {out_.data() + old, n};
  }
  // Gives back the `unused` tail of the last grow() and checks the budget.
  void commit(size_t unused) {
    out_.resize(out_.size() - unused);
    if (produced() > max_)
      fail(codec_, "data decompresses to more than the allowed " + std::to_string(max_) + " bytes");
  }
  // For codecs that know the size up front: checks before allocating.
  std::span<uint8_t> exact(size_t n) {
    if (n > max_ - produced())
      fail(codec_, "data decompresses to more than the allowed " + std::to_string(max_) + " bytes");
    size_t old = out_.size();
    out_.resize(old + n);
    return {out_.data() + old, n};
  }

 private:
  static constexpr size_t kMaxFirstChunk = 1 << 20;

  std::vector<uint8_t>& out_;
  size_t base_;
  size_t max_;
  const char* codec_;
};

// ---- gzip ----------------------------------------------------------------------

constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip wrapper only

struct InflateGuard {
  z_stream* zs;
  ~InflateGuard() { inflateEnd(zs); }
};
struct DeflateGuard {
  z_stream* zs;
  ~DeflateGuard() { deflateEnd(zs); }
};

void gzip_decompress(std::span<const uint8_t> data, BoundedSink& sink) {
  if (data.empty()) fail("gzip", "empty input");
  if (data.size() > std::numeric_limits<uInt>::max()) fail("gzip", "input too large");
  z_stream zs{};
  if (inflateInit2(&zs, kGzipWindowBits) != Z_OK) throw std::bad_alloc();
  InflateGuard guard{&zs};
  zs.next_in = const_cast<Bytef*>(data.data());
  zs.avail_in = static_cast<uInt>(data.size());
  for (;;) {
    auto space = sink.grow(data.size() * 4);
    zs.next_out = space.data();
    zs.avail_out =
        static_cast<uInt>(std::min<size_t>(space.size(), std::numeric_limits<uInt>::max()));
    size_t offered = zs.avail_out;
    int rc = inflate(&zs, Z_NO_FLUSH);
    sink.commit(space.size() - (offered - zs.avail_out));
    if (rc == Z_STREAM_END) {
      // Another member follows only if the gzip magic does; anything else is
      // trailing junk that GZIPInputStream would silently ignore.
      if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
        inflateReset(&zs);
        continue;
      }
      return;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      fail("gzip", zs.msg ? std::string("corrupt data (") + zs.msg + ")" : "corrupt data");
    // Room left in the output but the input is used up: the stream is cut.
    if (zs.avail_in == 0 && zs.avail_out > 0) fail("gzip", "truncated data");
  }
}

void gzip_compress(std::span<const uint8_t> data, std::vector<uint8_t>& out, int level) {
  if (data.size() > std::numeric_limits<uInt>::max())
    throw std::length_error("gzip: input too large");
  z_stream zs{};
  int lvl = level == kDefaultCompressionLevel ? Z_DEFAULT_COMPRESSION : level;
  if (deflateInit2(&zs, lvl, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::bad_alloc();
  DeflateGuard guard{&zs};
  size_t bound = deflateBound(&zs, static_cast<uLong>(data.size()));
  size_t old = out.size();
  out.resize(old + bound);
  zs.next_in = const_cast<Bytef*>(data.data());
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = out.data() + old;
  zs.avail_out = static_cast<uInt>(bound);
  // deflateBound covers the whole output, so one Z_FINISH call completes it.
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("gzip: deflate failed");
  out.resize(old + zs.total_out);
}

// ---- snappy (xerial framing or raw) ------------------------------------------------

constexpr size_t kXerialHeaderSize = sizeof(kXerialSnappyHeader);
constexpr size_t kXerialMagicSize = 8;

bool starts_with_xerial_magic(std::span<const uint8_t> data) {
  return data.size() >= kXerialMagicSize &&
         std::memcmp(data.data(), kXerialSnappyHeader, kXerialMagicSize) == 0;
}

void snappy_raw_decompress(std::span<const uint8_t> block, BoundedSink& sink) {
  const char* src = reinterpret_cast<const char*>(block.data());
  size_t n = 0;
  if (!snappy::GetUncompressedLength(src, block.size(), &n))
    fail("snappy", "corrupt block (bad length header)");
  auto dst = sink.exact(n);  // the claimed size is checked before allocating
  if (!snappy::RawUncompress(src, block.size(), reinterpret_cast<char*>(dst.data())))
    fail("snappy", "corrupt or truncated block");
}

void snappy_decompress(std::span<const uint8_t> data, BoundedSink& sink) {
  if (!starts_with_xerial_magic(data)) return snappy_raw_decompress(data, sink);
  size_t pos = 0;
  while (pos < data.size()) {
    auto rest = data.subspan(pos);
    // The version fields are not checked: every snappy-java release writes
    // 1/1 and its own reader only rejects versions older than 1.
    if (starts_with_xerial_magic(rest)) {
      if (rest.size() < kXerialHeaderSize) fail("snappy", "truncated xerial header");
      pos += kXerialHeaderSize;
      continue;
    }
    if (rest.size() < 4) fail("snappy", "truncated xerial block length");
    uint32_t len = (uint32_t{rest[0]} << 24) | (uint32_t{rest[1]} << 16) |
                   (uint32_t{rest[2]} << 8) | uint32_t{rest[3]};
    if (len > rest.size() - 4)
      fail("snappy", "xerial block of " + std::to_string(len) + " bytes exceeds the " +
                         std::to_string(rest.size() - 4) + " bytes left");
    snappy_raw_decompress(rest.subspan(4, len), sink);
    pos += 4 + len;
  }
}

void snappy_compress(std::span<const uint8_t> data, std::vector<uint8_t>& out) {
  out.insert(out.end(), std::begin(kXerialSnappyHeader), std::end(kXerialSnappyHeader));
  for (size_t pos = 0; pos < data.size(); pos += kXerialSnappyBlockSize) {
    size_t n = std::min(kXerialSnappyBlockSize, data.size() - pos);
    size_t at = out.size();
    out.resize(at + 4 + snappy::MaxCompressedLength(n));
    size_t written = 0;
    snappy::RawCompress(reinterpret_cast<const char*>(data.data() + pos), n,
                        reinterpret_cast<char*>(out.data() + at + 4), &written);
    for (int i = 0; i < 4; ++i) out[at + i] = static_cast<uint8_t>(written >> (24 - 8 * i));
    out.resize(at + 4 + written);
  }
}

// ---- lz4 frame -------------------------------------------------------------------

void lz4_decompress(std::span<const uint8_t> data, BoundedSink& sink) {
  if (data.empty()) fail("lz4", "empty input");
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) throw std::bad_alloc();
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> dctx(
      raw, &LZ4F_freeDecompressionContext);
  size_t pos = 0;
  for (;;) {
    auto space = sink.grow(data.size() * 4);
    size_t dst = space.size();
    size_t src = data.size() - pos;
    size_t hint = LZ4F_decompress(dctx.get(), space.data(), &dst, data.data() + pos, &src, nullptr);
    sink.commit(space.size() - dst);
    if (LZ4F_isError(hint))
      fail("lz4", std::string("corrupt data (") + LZ4F_getErrorName(hint) + ")");
    pos += src;
    // hint == 0: a frame ended; the decoder is ready for another one.
    if (pos == data.size()) {
      if (hint == 0) return;
      if (dst < space.size()) fail("lz4", "truncated frame");
      // Output was full: the decoder may hold more, call again.
    }
    // Guards the loop: with room to write and input left, liblz4 always moves.
    if (src == 0 && dst == 0 && hint != 0) fail("lz4", "decoder made no progress");
  }
}

void lz4_compress(std::span<const uint8_t> data, std::vector<uint8_t>& out, int level) {
  LZ4F_preferences_t prefs;
  std::memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
  prefs.compressionLevel = level == kDefaultCompressionLevel ? 0 : level;
  size_t bound = LZ4F_compressFrameBound(data.size(), &prefs);
  size_t old = out.size();
  out.resize(old + bound);
  size_t n = LZ4F_compressFrame(out.data() + old, bound, data.data(), data.size(), &prefs);
  if (LZ4F_isError(n)) throw std::runtime_error(std::string("lz4: ") + LZ4F_getErrorName(n));
  out.resize(old + n);
}

// ---- zstd ----------------------------------------------------------------------------

void zstd_decompress(std::span<const uint8_t> data, BoundedSink& sink) {
  if (data.empty()) fail("zstd", "empty input");
  // The default window limit (128 MiB) also bounds the decoder's own memory.
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
  if (!dctx) throw std::bad_alloc();
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  for (;;) {
    auto space = sink.grow(data.size() * 4);
    ZSTD_outBuffer out{space.data(), space.size(), 0};
    size_t in_before = in.pos;
    size_t rc = ZSTD_decompressStream(dctx.get(), &out, &in);
    sink.commit(space.size() - out.pos);
    if (ZSTD_isError(rc)) fail("zstd", std::string("corrupt data (") + ZSTD_getErrorName(rc) + ")");
    if (in.pos == in.size) {
      if (rc == 0) return;  // last frame complete and flushed
      if (out.pos < out.size) fail("zstd", "truncated frame");
    }
    // Guards the loop: with room to write, libzstd always moves.
    if (in.pos == in_before && out.pos == 0 && rc != 0) fail("zstd", "decoder made no progress");
  }
}

void zstd_compress(std::span<const uint8_t> data, std::vector<uint8_t>& out, int level) {
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), &ZSTD_freeCCtx);
  if (!cctx) throw std::bad_alloc();
  int lvl = level == kDefaultCompressionLevel ? ZSTD_CLEVEL_DEFAULT : level;
  size_t rc = ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, lvl);
  if (ZSTD_isError(rc)) throw std::invalid_argument("zstd: bad level " + std::to_string(level));
  size_t bound = ZSTD_compressBound(data.size());
  size_t old = out.size();
  out.resize(old + bound);
  size_t n = ZSTD_compress2(cctx.get(), out.data() + old, bound, data.data(), data.size());
  if (ZSTD_isError(n)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(n));
  out.resize(old + n);
}

}  // namespace

bool valid_compression_level(CompressionType type, int level) {
  if (level == kDefaultCompressionLevel) return true;
  switch (type) {
    case CompressionType::kGzip:
      return level >= Z_DEFAULT_COMPRESSION && level <= Z_BEST_COMPRESSION;
    case CompressionType::kLz4:
      return level >= 0 && level <= 17;  // Kafka's range; liblz4 caps above 12
    case CompressionType::kZstd:
      return level >= ZSTD_minCLevel() && level <= ZSTD_maxCLevel();
    case CompressionType::kNone:
    case CompressionType::kSnappy:
      return false;  // no levels at all
  }
  return false;
}

void decompress_into(CompressionType type, std::span<const uint8_t> data, size_t max_output,
                     std::vector<uint8_t>& out) {
  // compression_name() returns views of string literals, so data() is
  // NUL-terminated.
  BoundedSink sink(out, max_output, compression_name(type).data());
  switch (type) {
    case CompressionType::kNone: {
      auto dst = sink.exact(data.size());
      std::copy(data.begin(), data.end(), dst.begin());
      return;
    }
    case CompressionType::kGzip:
      return gzip_decompress(data, sink);
    case CompressionType::kSnappy:
      return snappy_decompress(data, sink);
    case CompressionType::kLz4:
      return lz4_decompress(data, sink);
    case CompressionType::kZstd:
      return zstd_decompress(data, sink);
  }
  throw DecodeError("unknown compression type " + std::to_string(static_cast<int>(type)));
}

std::vector<uint8_t> decompress(CompressionType type, std::span<const uint8_t> data,
                                size_t max_output) {
  std::vector<uint8_t> out;
  decompress_into(type, data, max_output, out);
  return out;
}

void compress_into(CompressionType type, std::span<const uint8_t> data, std::vector<uint8_t>& out,
                   int level) {
  if (level != kDefaultCompressionLevel && !valid_compression_level(type, level))
    throw std::invalid_argument("invalid " + std::string(compression_name(type)) +
                                " compression level " + std::to_string(level));
  switch (type) {
    case CompressionType::kNone:
      out.insert(out.end(), data.begin(), data.end());
      return;
    case CompressionType::kGzip:
      return gzip_compress(data, out, level);
    case CompressionType::kSnappy:
      return snappy_compress(data, out);
    case CompressionType::kLz4:
      return lz4_compress(data, out, level);
    case CompressionType::kZstd:
      return zstd_compress(data, out, level);
  }
  throw std::invalid_argument("unknown compression type " + std::to_string(static_cast<int>(type)));
}

void compress(CompressionType type, std::span<const uint8_t> data, WireWriter& out, int level) {
  compress_into(type, data, out.buffer(), level);
}

std::vector<uint8_t> compress(CompressionType type, std::span<const uint8_t> data, int level) {
  std::vector<uint8_t> out;
  compress_into(type, data, out, level);
  return out;
}

}  // namespace samsa::protocol
