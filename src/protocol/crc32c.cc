#include "samsa/protocol/crc32c.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define SAMSA_CRC32C_X86 1
#endif

namespace samsa::protocol {
namespace {

constexpr uint32_t kPolyReflected = 0x82F63B78u;

// Slicing-by-8 tables, built at compile time. tables[0] is the classic
// bytewise table; tables[k][b] is the CRC of byte b followed by k zero bytes,
// which lets the loop fold eight input bytes with eight independent lookups.
using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? (c >> 1) ^ kPolyReflected : c >> 1;
    t[0][i] = c;
  }
  for (size_t k = 1; k < 8; ++k)
    for (size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  return t;
}

constexpr Tables kTables = make_tables();

inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

// Works on the raw (pre-inverted) register value.
uint32_t update_portable(uint32_t crc, const uint8_t* p, size_t n) {
  const auto& t = kTables;
  while (n >= 8) {
    uint64_t w = load_le64(p) ^ crc;
    crc = t[7][w & 0xff] ^ t[6][(w >> 8) & 0xff] ^ t[5][(w >> 16) & 0xff] ^
          t[4][(w >> 24) & 0xff] ^ t[3][(w >> 32) & 0xff] ^ t[2][(w >> 40) & 0xff] ^
          t[1][(w >> 48) & 0xff] ^ t[0][w >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
  return crc;
}

#ifdef SAMSA_CRC32C_X86
// The target attribute lets these functions use the instruction while the
// rest of the file (and the project) stays baseline x86-64; they are only
// ever called after the runtime check below.
__attribute__((target("sse4.2"))) uint32_t update_hw_serial(uint32_t crc, const uint8_t* p, size_t n) {
#if defined(__x86_64__)
  uint64_t c64 = crc;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, sizeof w);
    c64 = _mm_crc32_u64(c64, w);
    p += 8;
    n -= 8;
  }
  crc = static_cast<uint32_t>(c64);
#endif
  while (n >= 4) {
    uint32_t w;
    std::memcpy(&w, p, sizeof w);
    crc = _mm_crc32_u32(crc, w);
    p += 4;
    n -= 4;
  }
  while (n--) crc = _mm_crc32_u8(crc, *p++);
  return crc;
}

#if defined(__x86_64__)
// One `crc32` instruction has a latency of three cycles but the CPU starts
// one per cycle, so a single dependent chain runs at a third of the
// instruction's throughput: it was ~9% of the broker's CPU on produce
// (every batch's CRC is checked). Three independent streams over adjacent
// thirds of a block keep the unit busy; their registers are then joined with
// the linearity of the raw CRC register: reg(A ++ B) = shift_|B|(reg(A)) ^
// reg0(B), where reg0 starts from zero and shift_n multiplies by x^(8n) mod P,
// which is a 32x32 bit matrix, applied here as four byte-indexed tables.
struct ShiftTables {
  std::array<std::array<uint32_t, 256>, 4> t{};
  uint32_t apply(uint32_t r) const {
    return t[0][r & 0xff] ^ t[1][(r >> 8) & 0xff] ^ t[2][(r >> 16) & 0xff] ^ t[3][r >> 24];
  }
};

__attribute__((target("sse4.2"))) ShiftTables make_shift_tables(size_t zero_bytes) {
  // shift_n of each single bit, by running the register over n zero bytes
  // (the CRC of zeros from a zero register is zero, so only the shift is left).
  static const uint8_t kZeros[4096] = {};
  uint32_t bit_image[32];
  for (int b = 0; b < 32; ++b) {
    uint32_t r = uint32_t{1} << b;
    for (size_t left = zero_bytes; left > 0;) {
      size_t step = std::min(left, sizeof kZeros);
      r = update_hw_serial(r, kZeros, step);
      left -= step;
    }
    bit_image[b] = r;
  }
  ShiftTables s;
  for (int k = 0; k < 4; ++k)
    for (uint32_t v = 0; v < 256; ++v) {
      uint32_t out = 0;
      for (int b = 0; b < 8; ++b)
        if (v & (1u << b)) out ^= bit_image[8 * k + b];
      s.t[k][v] = out;
    }
  return s;
}

// Stream lengths: long for the bulk of a batch, short for its tail.
constexpr size_t kLong = 1024;
constexpr size_t kShort = 128;

template <size_t kLen>
__attribute__((target("sse4.2"))) uint32_t three_way(uint32_t crc, const uint8_t*& p, size_t& n,
                                                     const ShiftTables& shift) {
  while (n >= 3 * kLen) {
    uint64_t a = crc, b = 0, c = 0;
    for (size_t i = 0; i < kLen; i += 8) {
      uint64_t wa, wb, wc;
      std::memcpy(&wa, p + i, 8);
      std::memcpy(&wb, p + kLen + i, 8);
      std::memcpy(&wc, p + 2 * kLen + i, 8);
      a = _mm_crc32_u64(a, wa);
      b = _mm_crc32_u64(b, wb);
      c = _mm_crc32_u64(c, wc);
    }
    crc = shift.apply(shift.apply(static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b)) ^ static_cast<uint32_t>(c);
    p += 3 * kLen;
    n -= 3 * kLen;
  }
  return crc;
}
#endif

__attribute__((target("sse4.2"))) uint32_t update_hw(uint32_t crc, const uint8_t* p, size_t n) {
  // Bytewise until 8-aligned so the 8-byte loads never straddle a cache line.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    crc = _mm_crc32_u8(crc, *p++);
    --n;
  }
#if defined(__x86_64__)
  if (n >= 3 * kShort) {
    static const ShiftTables long_shift = make_shift_tables(kLong);
    static const ShiftTables short_shift = make_shift_tables(kShort);
    crc = three_way<kLong>(crc, p, n, long_shift);
    crc = three_way<kShort>(crc, p, n, short_shift);
  }
#endif
  return update_hw_serial(crc, p, n);
}

bool detect_hw() {
  __builtin_cpu_init();  // needed if we run before the library's constructors
  return __builtin_cpu_supports("sse4.2");
}
#endif

}  // namespace

bool crc32c_hardware_available() {
#ifdef SAMSA_CRC32C_X86
  static const bool available = detect_hw();
  return available;
#else
  return false;
#endif
}

uint32_t crc32c_portable(uint32_t crc, std::span<const uint8_t> data) {
  return ~update_portable(~crc, data.data(), data.size());
}

uint32_t crc32c_extend(uint32_t crc, std::span<const uint8_t> data) {
#ifdef SAMSA_CRC32C_X86
  if (crc32c_hardware_available()) return ~update_hw(~crc, data.data(), data.size());
#endif
  return crc32c_portable(crc, data);
}

uint32_t crc32c(std::span<const uint8_t> data) { return crc32c_extend(0, data); }

}  // namespace samsa::protocol
