// Batch-level compression helpers: decoding the records of compressed
// batches and re-encoding a batch's records section with another codec.
#include "samsa/protocol/compression.h"

#include <limits>
#include <stdexcept>
#include <string>

namespace samsa::protocol {
namespace {

using H = RecordBatchHeader;

// Smallest encoded record (see record_batch.cc): seven one-byte fields.
constexpr size_t kMinRecordSize = 7;

std::string where(const RecordBatchHeader& h) {
  return "record batch at offset " + std::to_string(h.base_offset);
}

std::span<const uint8_t> records_section(const BatchView& batch) {
  if (batch.bytes.size() < H::kSize)
    throw DecodeError("record batch needs at least 61 bytes, got " +
                      std::to_string(batch.bytes.size()));
  return batch.bytes.subspan(H::kSize);
}

std::vector<Record> parse_records(const RecordBatchHeader& h, std::span<const uint8_t> section) {
  WireReader in(section);
  // Bounding the count by the bytes present keeps a hostile count from
  // reserving memory the data cannot back.
  if (h.records_count < 0 || static_cast<size_t>(h.records_count) > in.remaining() / kMinRecordSize)
    throw DecodeError(where(h) + " has impossible records count " +
                      std::to_string(h.records_count));
  std::vector<Record> records;
  records.reserve(static_cast<size_t>(h.records_count));
  for (int32_t i = 0; i < h.records_count; ++i) records.push_back(Record::decode(in));
  if (!in.at_end())
    throw DecodeError(where(h) + " has " + std::to_string(in.remaining()) +
                      " bytes after its last record");
  return records;
}

// Writes `h` with the compression bits of `target` and `payload` as records
// section, then fills in batchLength and the CRC.
std::vector<uint8_t> assemble(RecordBatchHeader h, CompressionType target,
                              std::span<const uint8_t> payload) {
  if (payload.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()) - H::kSize)
    throw std::length_error("record batch too large");
  h.attributes =
      static_cast<int16_t>((h.attributes & ~H::kCompressionMask) | static_cast<int16_t>(target));
  h.batch_length = static_cast<int32_t>(H::kSize - H::kLogOverhead + payload.size());
  h.crc = 0;
  WireWriter out;
  out.buffer().reserve(H::kSize + payload.size());
  h.write(out);
  out.raw(payload);
  out.patch_int32(H::kCrcPos, static_cast<int32_t>(compute_batch_crc(out.view())));
  return out.take();
}

// Compresses a plain records section; an empty one stays empty (see
// uncompressed_records_section in the header).
std::vector<uint8_t> encode_section(std::span<const uint8_t> plain, CompressionType target,
                                    int level) {
  if (plain.empty()) return {};
  return compress(target, plain, level);
}

}  // namespace

std::vector<uint8_t> uncompressed_records_section(const BatchView& batch, size_t max_output) {
  auto section = records_section(batch);
  auto type = batch.header.compression();
  if (section.empty()) return {};
  if (type == CompressionType::kNone) return {section.begin(), section.end()};
  try {
    return decompress(type, section, max_output);
  } catch (const DecodeError& e) {
    throw DecodeError(where(batch.header) + ": " + e.what());
  }
}

std::vector<Record> decode_batch_records(const BatchView& batch, size_t max_output) {
  // Uncompressed batches are parsed in place, without copying the section.
  if (batch.header.compression() == CompressionType::kNone)
    return parse_records(batch.header, records_section(batch));
  auto plain = uncompressed_records_section(batch, max_output);
  return parse_records(batch.header, plain);
}

std::vector<uint8_t> recompress_batch(const BatchView& batch, CompressionType target,
                                      size_t max_output, int level) {
  std::vector<uint8_t> owned;
  std::span<const uint8_t> plain;
  if (batch.header.compression() == CompressionType::kNone) {
    plain = records_section(batch);
  } else {
    owned = uncompressed_records_section(batch, max_output);
    plain = owned;
  }
  parse_records(batch.header, plain);  // validation only
  if (target == CompressionType::kNone) return assemble(batch.header, target, plain);
  return assemble(batch.header, target, encode_section(plain, target, level));
}

std::vector<uint8_t> build_compressed_batch(const RecordBatchBuilder& builder, CompressionType type,
                                            int level) {
  auto plain_batch = builder.build();
  if (type == CompressionType::kNone) return plain_batch;
  auto header = RecordBatchHeader::parse(plain_batch);
  auto section = std::span<const uint8_t>(plain_batch).subspan(H::kSize);
  return assemble(header, type, encode_section(section, type, level));
}

}  // namespace samsa::protocol
