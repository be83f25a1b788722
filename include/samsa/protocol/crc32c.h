#pragma once
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
// Kafka's record batch v2. Uses the SSE4.2 `crc32` instruction when the CPU
// has it (checked once at runtime, so no -msse4.2 is needed to build) and a
// portable slicing-by-8 table otherwise.
#include <cstdint>
#include <span>

namespace samsa::protocol {

// CRC-32C of `data` (initial value and final xor 0xFFFFFFFF applied).
uint32_t crc32c(std::span<const uint8_t> data);

// Continues a CRC: crc32c_extend(crc32c(a), b) == crc32c(a ++ b), and
// crc32c_extend(0, b) == crc32c(b). Lets callers checksum a batch in pieces.
uint32_t crc32c_extend(uint32_t crc, std::span<const uint8_t> data);

// Same as crc32c_extend but always the portable table code; exposed so tests
// can compare it with the hardware path.
uint32_t crc32c_portable(uint32_t crc, std::span<const uint8_t> data);

// True if crc32c/crc32c_extend use the SSE4.2 instruction on this machine.
bool crc32c_hardware_available();

}  // namespace samsa::protocol
