#pragma once
// Kafka record batch v2 (magic 2): the only on-wire and on-disk record format
// Samsa speaks. Batches are stored and served as the producer's bytes, so most
// code only needs the fixed header; full record decoding is for tests, tools,
// compaction and validation.
//
// Batch layout (all integers big-endian), byte offsets in brackets:
//
//   [ 0] baseOffset            int64   offset of the first record
//   [ 8] batchLength           int32   bytes that follow this field
//                                      (total batch size = batchLength + 12)
//   [12] partitionLeaderEpoch  int32   stamped by the leader on append
//   [16] magic                 int8    = 2 (same position as in v0/v1)
//   [17] crc                   uint32  CRC-32C of bytes [21, end)
//   [21] attributes            int16   bits 0-2 compression (0 none, 1 gzip,
//                                      2 snappy, 3 lz4, 4 zstd), bit 3
//                                      timestamp type (1 = LogAppendTime),
//                                      bit 4 transactional, bit 5 control,
//                                      bit 6 delete horizon set (baseTimestamp
//                                      then holds it)
//   [23] lastOffsetDelta       int32   last record offset - baseOffset
//   [27] baseTimestamp         int64
//   [35] maxTimestamp          int64
//   [43] producerId            int64   -1 without idempotence
//   [51] producerEpoch         int16
//   [53] baseSequence          int32
//   [57] recordsCount          int32
//   [61] records...                    compressed as a whole if bits 0-2 != 0
//
// baseOffset, batchLength and partitionLeaderEpoch lie before the CRC range,
// so the broker can assign offsets and stamp the epoch without recomputing it.
//
// Record layout (varint/varlong are zig-zag, as in protobuf):
//
//   length          varint   bytes of the rest of the record
//   attributes      int8     unused, 0
//   timestampDelta  varlong  timestamp - baseTimestamp
//   offsetDelta     varint   offset - baseOffset
//   keyLength       varint   -1 = null key
//   key             bytes
//   valueLength     varint   -1 = null value
//   value           bytes
//   headersCount    varint
//   headers         headersCount x { keyLength varint, key (UTF-8, not
//                   null), valueLength varint (-1 = null), value bytes }
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::protocol {

enum class CompressionType : int8_t { kNone = 0, kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4 };
enum class TimestampType : int8_t { kCreateTime = 0, kLogAppendTime = 1 };

std::string_view compression_name(CompressionType c);

struct RecordBatchHeader {
  static constexpr size_t kSize = 61;
  // baseOffset + batchLength: the part of the batch batchLength does not count.
  static constexpr size_t kLogOverhead = 12;
  static constexpr int8_t kMagic = 2;

  static constexpr size_t kBaseOffsetPos = 0;
  static constexpr size_t kBatchLengthPos = 8;
  static constexpr size_t kPartitionLeaderEpochPos = 12;
  static constexpr size_t kMagicPos = 16;
  static constexpr size_t kCrcPos = 17;
  static constexpr size_t kAttributesPos = 21;  // CRC range starts here
  static constexpr size_t kMaxTimestampPos = 35;

  static constexpr int16_t kCompressionMask = 0x07;
  static constexpr int16_t kTimestampTypeBit = 0x08;
  static constexpr int16_t kTransactionalBit = 0x10;
  static constexpr int16_t kControlBit = 0x20;
  static constexpr int16_t kDeleteHorizonBit = 0x40;

  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t partition_leader_epoch = -1;
  int8_t magic = kMagic;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = -1;
  int64_t max_timestamp = -1;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t records_count = 0;

  // Reads the first kSize bytes of `batch`. Throws DecodeError if fewer bytes
  // are given, magic != 2, or batchLength < kSize - kLogOverhead (a batch
  // cannot be shorter than its own header). Does not check the CRC.
  static RecordBatchHeader parse(std::span<const uint8_t> batch);
  // Appends exactly kSize bytes, fields as they are (crc is not computed).
  void write(WireWriter& out) const;

  CompressionType compression() const {
    return static_cast<CompressionType>(attributes & kCompressionMask);
  }
  TimestampType timestamp_type() const {
    return (attributes & kTimestampTypeBit) ? TimestampType::kLogAppendTime
                                            : TimestampType::kCreateTime;
  }
  bool is_transactional() const { return attributes & kTransactionalBit; }
  bool is_control() const { return attributes & kControlBit; }
  bool has_delete_horizon() const { return attributes & kDeleteHorizonBit; }
  int64_t last_offset() const { return base_offset + last_offset_delta; }
  int64_t next_offset() const { return last_offset() + 1; }
  // Whole batch on the wire/disk. Meaningful for parsed headers (batch_length
  // was checked to be >= 49).
  size_t size_in_bytes() const { return static_cast<size_t>(batch_length) + kLogOverhead; }

  bool operator==(const RecordBatchHeader&) const = default;
};

// CRC-32C of bytes [21, end) of `batch` (which must hold at least kSize bytes).
uint32_t compute_batch_crc(std::span<const uint8_t> batch);

// True if `batch` is exactly one batch (size == batchLength + 12, size >=
// kSize) whose stored CRC matches its contents.
bool verify_crc(std::span<const uint8_t> batch);

// In-place edits of a whole, framed batch (`batch.size() >= kSize`, else
// DecodeError). These two fields lie outside the CRC range, so the CRC stays
// valid and is not touched: this is how the leader assigns offsets and
// stamps its epoch on a produced batch.
void set_base_offset(std::span<uint8_t> batch, int64_t base_offset);
void set_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch);

// In-place edits of fields inside the CRC range; both recompute the CRC over
// the whole `batch`. set_max_timestamp also sets the timestamp type bit
// (LogAppendTime: type kLogAppendTime and the broker's clock as max).
void set_attributes(std::span<uint8_t> batch, int16_t attributes);
void set_max_timestamp(std::span<uint8_t> batch, TimestampType type, int64_t max_timestamp);

// A batch inside a larger buffer; `bytes` covers the whole batch (header
// included) and borrows from the buffer.
struct BatchView {
  RecordBatchHeader header;
  std::span<const uint8_t> bytes;
};

// Walks a buffer of concatenated batches, checking framing only: batchLength
// >= 49, magic == 2, and the batch fits in what is left. It never allocates
// and never trusts a length beyond the buffer. CRCs are not checked (callers
// that need it call verify_crc on each view).
class BatchIterator {
 public:
  enum class Stop {
    kNone,        // still iterating
    kEnd,         // the buffer ended exactly at a batch boundary
    kIncomplete,  // the last batch is cut short (torn tail / partial fetch)
    kCorrupt,     // a batch header is impossible (bad length or magic)
  };

  explicit BatchIterator(std::span<const uint8_t> buffer) : buffer_(buffer) {}

  // The next well-framed batch, or nullopt once the walk stops (see stop()).
  std::optional<BatchView> next();
  // Bytes from the start of the buffer covered by the batches returned so far.
  size_t valid_bytes() const { return pos_; }
  Stop stop() const { return stop_; }
  // Why the walk stopped, for logs; empty for kNone and kEnd.
  const std::string& error() const { return error_; }

 private:
  std::optional<BatchView> halt(Stop why, std::string message);

  std::span<const uint8_t> buffer_;
  size_t pos_ = 0;
  Stop stop_ = Stop::kNone;
  std::string error_;
};

struct SplitResult {
  std::vector<BatchView> batches;
  size_t valid_bytes = 0;  // length of the well-framed prefix
  BatchIterator::Stop stop = BatchIterator::Stop::kEnd;
};

// All well-framed batches at the front of `buffer`. With require_complete
// (produce requests) anything but a clean end throws DecodeError; without it
// (log recovery, fetched data) the walk stops quietly and `valid_bytes` says
// where the good prefix ends.
SplitResult split_batches(std::span<const uint8_t> buffer, bool require_complete);

struct RecordHeader {
  std::string key;
  std::optional<std::vector<uint8_t>> value;
  bool operator==(const RecordHeader&) const = default;
};

// One record of an uncompressed batch, with offsets and timestamps relative
// to the batch's base values.
struct Record {
  int64_t timestamp_delta = 0;
  int32_t offset_delta = 0;
  std::optional<std::vector<uint8_t>> key;
  std::optional<std::vector<uint8_t>> value;
  std::vector<RecordHeader> headers;

  // Appends the record including its leading length varint.
  void encode(WireWriter& out) const;
  // Reads one length-prefixed record. Throws DecodeError if it is malformed
  // or its fields do not fill exactly `length` bytes.
  static Record decode(WireReader& in);
  // Bytes encode() writes after the length varint.
  size_t body_size() const;

  bool operator==(const Record&) const = default;
};

// The records of an uncompressed batch. Throws DecodeError for compressed
// batches (not supported yet), a records count that does not match the
// data, or a malformed record.
std::vector<Record> decode_records(const BatchView& batch);

struct RecordBatchOptions {
  int64_t base_offset = 0;
  int32_t partition_leader_epoch = -1;
  // Defaults to the timestamp of the first record appended with append().
  std::optional<int64_t> base_timestamp;
  TimestampType timestamp_type = TimestampType::kCreateTime;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  bool transactional = false;
  bool control = false;
};

// Builds one uncompressed batch. Records are encoded as they are appended, so
// building costs one copy of the record bytes into the final buffer.
class RecordBatchBuilder {
 public:
  explicit RecordBatchBuilder(RecordBatchOptions options = {}) : options_(options) {}

  // Appends a record at the next offset (base + number appended so far)
  // with an absolute timestamp.
  void append(int64_t timestamp, std::optional<std::span<const uint8_t>> key,
              std::optional<std::span<const uint8_t>> value,
              std::span<const RecordHeader> headers = {});
  // Appends a record whose deltas are already relative to the batch (uses
  // base_timestamp from the options, 0 if none was set or derived).
  void append(const Record& record);

  int32_t record_count() const { return count_; }
  // The whole batch: header (batchLength and CRC filled in) + records.
  std::vector<uint8_t> build() const;
  // Same, appended to `out`.
  void build_into(WireWriter& out) const;

 private:
  void note(int64_t timestamp_delta, int32_t offset_delta);

  RecordBatchOptions options_;
  WireWriter records_;
  int32_t count_ = 0;
  int32_t last_offset_delta_ = 0;
  std::optional<int64_t> max_timestamp_delta_;
};

}  // namespace samsa::protocol
