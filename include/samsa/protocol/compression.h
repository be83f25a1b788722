#pragma once
// Record batch compression: the four codecs Kafka allows in the attributes of
// a v2 batch, in the exact byte formats Kafka clients write and read.
//
//   gzip    RFC 1952 gzip stream. Decompression accepts several concatenated
//           members and ignores bytes after the last member that do not start
//           a new one, like Java's GZIPInputStream (what the Java broker and
//           consumers use).
//   snappy  Compression writes snappy-java's "xerial" framing, as the Java
//           producer does: 8-byte magic 82 'SNAPPY' 00, int32 version 1, int32
//           compatible version 1, then blocks of (int32 big-endian length, raw
//           snappy block) of at most 32 KiB of input each. Decompression also
//           accepts a bare raw snappy block, which librdkafka writes (and Java's
//           SnappyInputStream falls back to), and concatenated xerial streams.
//   lz4     LZ4 frame format (magic 0x184D2204) with independent 64 KiB blocks
//           and no checksums besides the header one, like Kafka's
//           KafkaLZ4BlockOutputStream. v2 batches always carry the correct
//           header checksum (the broken variant only existed for magic 0).
//           Decompression accepts anything liblz4 does, including several
//           frames in a row.
//   zstd    Standard zstd frames, decoded in streaming mode because producers
//           often omit the content size.
//
// Decompression never trusts sizes from the input: output grows in steps and
// is bounded by `max_output` (decompression bombs). Every failure, corrupt or
// truncated input included, throws DecodeError whose message starts with the
// codec's name.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/record_batch.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::protocol {

// Sentinel for "the codec's own default": gzip 6, lz4 fast mode, zstd 3.
// Other values are passed to the library (Kafka's compression.<codec>.level
// ranges: gzip 1..9, lz4 1..17, zstd -131072..22); snappy has no levels.
inline constexpr int kDefaultCompressionLevel = std::numeric_limits<int>::min();

// snappy-java's stream header and block size, exposed for tests and tools.
inline constexpr uint8_t kXerialSnappyHeader[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0,
                                                    0,    0,   0,   1,   0,   0,   0,   1};
inline constexpr size_t kXerialSnappyBlockSize = 32 * 1024;

// True if `level` is kDefaultCompressionLevel or a level the codec accepts;
// compress() throws std::invalid_argument for anything else. Lets config
// validation reject a bad topic setting up front.
bool valid_compression_level(CompressionType type, int level);

// Appends the decompressed form of `data` to `out` (kNone: copies it).
// Throws DecodeError if the data is corrupt or truncated, or if it would
// produce more than `max_output` bytes (the bytes already in `out` do not
// count); `out` then holds unspecified extra bytes.
void decompress_into(CompressionType type, std::span<const uint8_t> data, size_t max_output,
                     std::vector<uint8_t>& out);
std::vector<uint8_t> decompress(CompressionType type, std::span<const uint8_t> data,
                                size_t max_output);

// Appends the compressed form of `data` to `out` (kNone: copies it).
void compress_into(CompressionType type, std::span<const uint8_t> data, std::vector<uint8_t>& out,
                   int level = kDefaultCompressionLevel);
void compress(CompressionType type, std::span<const uint8_t> data, WireWriter& out,
              int level = kDefaultCompressionLevel);
std::vector<uint8_t> compress(CompressionType type, std::span<const uint8_t> data,
                              int level = kDefaultCompressionLevel);

// ---- batch level -------------------------------------------------------------

// The records section (everything after the 61-byte header) in plain form:
// decompressed if the batch is compressed. An empty section stays empty
// whatever the codec: Kafka's log cleaner keeps emptied batches as a bare
// header that still carries the original compression bits.
std::vector<uint8_t> uncompressed_records_section(const BatchView& batch, size_t max_output);

// The records of any batch, compressed or not. Throws DecodeError on bad
// compressed data, more than `max_output` decompressed bytes, a records count
// that does not match the data, or a malformed record.
std::vector<Record> decode_batch_records(const BatchView& batch, size_t max_output);

// The same batch with its records section re-encoded with `target`: all
// header fields (base offset, epoch, timestamps, producer fields, records
// count, other attribute bits) are kept; the compression bits, batchLength and
// CRC are rewritten. The records are decoded first so a malformed batch is
// rejected (DecodeError) instead of being sealed under a fresh, valid CRC.
// Used when a topic's compression.type differs from the producer's.
std::vector<uint8_t> recompress_batch(const BatchView& batch, CompressionType target,
                                      size_t max_output, int level = kDefaultCompressionLevel);

// The builder's batch with its records compressed by `type` (kNone: exactly
// builder.build()).
std::vector<uint8_t> build_compressed_batch(const RecordBatchBuilder& builder, CompressionType type,
                                            int level = kDefaultCompressionLevel);

}  // namespace samsa::protocol
