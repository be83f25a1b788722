#include "samsa/protocol/record_batch.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "samsa/protocol/crc32c.h"

namespace samsa::protocol {
namespace {

using H = RecordBatchHeader;

// Smallest legal batchLength: the header after the batchLength field.
constexpr int32_t kMinBatchLength = static_cast<int32_t>(H::kSize - H::kLogOverhead);
// Smallest encoded record: length, attributes, timestampDelta, offsetDelta,
// key length, value length and header count take a byte each at least.
constexpr size_t kMinRecordSize = 7;

template <typename T>
T load_be(std::span<const uint8_t> b, size_t pos) {
  using U = std::make_unsigned_t<T>;
  U v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<U>((v << 8) | b[pos + i]);
  return static_cast<T>(v);
}

template <typename T>
void store_be(std::span<uint8_t> b, size_t pos, T value) {
  auto v = static_cast<std::make_unsigned_t<T>>(value);
  for (size_t i = sizeof(T); i-- > 0; v = static_cast<decltype(v)>(v >> 8))
    b[pos + i] = static_cast<uint8_t>(v);
}

void require_header(std::span<const uint8_t> batch) {
  if (batch.size() < H::kSize)
    throw DecodeError("record batch needs at least 61 bytes, got " + std::to_string(batch.size()));
}

// For edits that recompute the CRC: the span must be exactly one batch, or
// the CRC would cover the wrong bytes.
void require_exact_batch(std::span<const uint8_t> batch) {
  require_header(batch);
  int32_t len = load_be<int32_t>(batch, H::kBatchLengthPos);
  if (len < kMinBatchLength || batch.size() != static_cast<size_t>(len) + H::kLogOverhead)
    throw DecodeError("span is not exactly one record batch");
}

void update_crc(std::span<uint8_t> batch) {
  store_be<uint32_t>(batch, H::kCrcPos, compute_batch_crc(batch));
}

size_t uvarint_size(uint64_t u) {
  size_t n = 1;
  while (u >= 0x80) {
    u >>= 7;
    ++n;
  }
  return n;
}
size_t varint_size(int32_t v) {
  return uvarint_size((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
}
size_t varlong_size(int64_t v) {
  return uvarint_size((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

using OptBytes = std::optional<std::span<const uint8_t>>;

OptBytes view_of(const std::optional<std::vector<uint8_t>>& v) {
  if (!v) return std::nullopt;
  return std::span<const uint8_t>(*v);
}

size_t nullable_size(OptBytes b) {
  return b ? varint_size(static_cast<int32_t>(b->size())) + b->size() : 1;
}

void write_nullable(WireWriter& out, OptBytes b) {
  if (!b) return out.varint(-1);
  out.varint(static_cast<int32_t>(b->size()));
  out.raw(*b);
}

std::optional<std::vector<uint8_t>> read_nullable(WireReader& in, const char* what) {
  int32_t len = in.varint();
  if (len < -1) throw DecodeError(std::string("negative ") + what + " length in record");
  if (len == -1) return std::nullopt;
  auto b = in.take(static_cast<size_t>(len));
  return std::vector<uint8_t>(b.begin(), b.end());
}

size_t body_size_of(int64_t ts_delta, int32_t offset_delta, OptBytes key, OptBytes value,
                    std::span<const RecordHeader> headers) {
  size_t n = 1 + varlong_size(ts_delta) + varint_size(offset_delta) + nullable_size(key) +
             nullable_size(value) + varint_size(static_cast<int32_t>(headers.size()));
  for (const auto& h : headers)
    n += varint_size(static_cast<int32_t>(h.key.size())) + h.key.size() +
         nullable_size(view_of(h.value));
  return n;
}

// Shared by Record::encode and the builder, which encodes straight from the
// caller's spans without building a Record first.
void encode_record(WireWriter& out, int64_t ts_delta, int32_t offset_delta, OptBytes key,
                   OptBytes value, std::span<const RecordHeader> headers) {
  size_t body = body_size_of(ts_delta, offset_delta, key, value, headers);
  if (body > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    throw std::length_error("record too large");
  out.varint(static_cast<int32_t>(body));
  out.int8(0);  // record attributes: reserved, always 0
  out.varlong(ts_delta);
  out.varint(offset_delta);
  write_nullable(out, key);
  write_nullable(out, value);
  out.varint(static_cast<int32_t>(headers.size()));
  for (const auto& h : headers) {
    out.varint(static_cast<int32_t>(h.key.size()));
    out.raw({reinterpret_cast<const uint8_t*>(h.key.data()), h.key.size()});
    write_nullable(out, view_of(h.value));
  }
}

}  // namespace

std::string_view compression_name(CompressionType c) {
  switch (c) {
    case CompressionType::kNone:
      return "none";
    case CompressionType::kGzip:
      return "gzip";
    case CompressionType::kSnappy:
      return "snappy";
    case CompressionType::kLz4:
      return "lz4";
    case CompressionType::kZstd:
      return "zstd";
  }
  return "unknown";
}

// ---- header ----------------------------------------------------------------

RecordBatchHeader RecordBatchHeader::parse(std::span<const uint8_t> batch) {
  require_header(batch);
  WireReader in(batch.first(kSize));
  RecordBatchHeader h;
  h.base_offset = in.int64();
  h.batch_length = in.int32();
  h.partition_leader_epoch = in.int32();
  h.magic = in.int8();
  h.crc = in.uint32();
  h.attributes = in.int16();
  h.last_offset_delta = in.int32();
  h.base_timestamp = in.int64();
  h.max_timestamp = in.int64();
  h.producer_id = in.int64();
  h.producer_epoch = in.int16();
  h.base_sequence = in.int32();
  h.records_count = in.int32();
  if (h.magic != kMagic)
    throw DecodeError("unsupported record batch magic " + std::to_string(h.magic) + " (only 2)");
  if (h.batch_length < kMinBatchLength)
    throw DecodeError("record batch length " + std::to_string(h.batch_length) +
                      " is shorter than its header");
  return h;
}

void RecordBatchHeader::write(WireWriter& out) const {
  out.int64(base_offset);
  out.int32(batch_length);
  out.int32(partition_leader_epoch);
  out.int8(magic);
  out.uint32(crc);
  out.int16(attributes);
  out.int32(last_offset_delta);
  out.int64(base_timestamp);
  out.int64(max_timestamp);
  out.int64(producer_id);
  out.int16(producer_epoch);
  out.int32(base_sequence);
  out.int32(records_count);
}

// ---- CRC and in-place edits -------------------------------------------------

uint32_t compute_batch_crc(std::span<const uint8_t> batch) {
  require_header(batch);
  return crc32c(batch.subspan(H::kAttributesPos));
}

bool verify_crc(std::span<const uint8_t> batch) {
  if (batch.size() < H::kSize) return false;
  int32_t len = load_be<int32_t>(batch, H::kBatchLengthPos);
  if (len < kMinBatchLength || batch.size() != static_cast<size_t>(len) + H::kLogOverhead)
    return false;
  return load_be<uint32_t>(batch, H::kCrcPos) == compute_batch_crc(batch);
}

void set_base_offset(std::span<uint8_t> batch, int64_t base_offset) {
  require_header(batch);
  store_be<int64_t>(batch, H::kBaseOffsetPos, base_offset);
}

void set_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch) {
  require_header(batch);
  store_be<int32_t>(batch, H::kPartitionLeaderEpochPos, epoch);
}

void set_attributes(std::span<uint8_t> batch, int16_t attributes) {
  require_exact_batch(batch);
  store_be<int16_t>(batch, H::kAttributesPos, attributes);
  update_crc(batch);
}

void set_max_timestamp(std::span<uint8_t> batch, TimestampType type, int64_t max_timestamp) {
  require_exact_batch(batch);
  auto attrs = load_be<int16_t>(batch, H::kAttributesPos);
  if (type == TimestampType::kLogAppendTime)
    attrs = static_cast<int16_t>(attrs | H::kTimestampTypeBit);
  else
    attrs = static_cast<int16_t>(attrs & ~H::kTimestampTypeBit);
  store_be<int16_t>(batch, H::kAttributesPos, attrs);
  store_be<int64_t>(batch, H::kMaxTimestampPos, max_timestamp);
  update_crc(batch);
}

// ---- framing ------------------------------------------------------------------

std::optional<BatchView> BatchIterator::halt(Stop why, std::string message) {
  stop_ = why;
  error_ = std::move(message);
  return std::nullopt;
}

std::optional<BatchView> BatchIterator::next() {
  if (stop_ != Stop::kNone) return std::nullopt;
  auto rest = buffer_.subspan(pos_);
  if (rest.empty()) return halt(Stop::kEnd, {});
  // Built only on the error paths: the happy path must not allocate.
  auto where = [this] { return "record batch at byte " + std::to_string(pos_); };
  if (rest.size() < H::kLogOverhead)
    return halt(Stop::kIncomplete, where() + " is cut off before its length");
  int32_t len = load_be<int32_t>(rest, H::kBatchLengthPos);
  if (len < kMinBatchLength)
    return halt(Stop::kCorrupt, where() + " has impossible length " + std::to_string(len));
  // The magic byte is checked as soon as it is visible, so garbage is called
  // corrupt rather than incomplete even when its length runs past the end.
  if (rest.size() > H::kMagicPos && static_cast<int8_t>(rest[H::kMagicPos]) != H::kMagic)
    return halt(Stop::kCorrupt,
                where() + " has magic " + std::to_string(static_cast<int8_t>(rest[H::kMagicPos])));
  size_t total = static_cast<size_t>(len) + H::kLogOverhead;
  if (total > rest.size())
    return halt(Stop::kIncomplete, where() + " needs " + std::to_string(total) + " bytes, " +
                                       std::to_string(rest.size()) + " left");
  auto bytes = rest.first(total);
  pos_ += total;
  return BatchView{RecordBatchHeader::parse(bytes), bytes};
}

SplitResult split_batches(std::span<const uint8_t> buffer, bool require_complete) {
  SplitResult result;
  BatchIterator it(buffer);
  while (auto view = it.next()) result.batches.push_back(*view);
  result.valid_bytes = it.valid_bytes();
  result.stop = it.stop();
  if (require_complete && result.stop != BatchIterator::Stop::kEnd) throw DecodeError(it.error());
  return result;
}

// ---- records --------------------------------------------------------------------

size_t Record::body_size() const {
  return body_size_of(timestamp_delta, offset_delta, view_of(key), view_of(value), headers);
}

void Record::encode(WireWriter& out) const {
  encode_record(out, timestamp_delta, offset_delta, view_of(key), view_of(value), headers);
}

Record Record::decode(WireReader& in) {
  int32_t len = in.varint();
  if (len < 0) throw DecodeError("negative record length");
  WireReader body(in.take(static_cast<size_t>(len)));
  Record r;
  body.int8();  // attributes: unused
  r.timestamp_delta = body.varlong();
  r.offset_delta = body.varint();
  r.key = read_nullable(body, "key");
  r.value = read_nullable(body, "value");
  int32_t count = body.varint();
  // A header takes at least 2 bytes; bounding the count by what is left keeps
  // a hostile count from reserving gigabytes.
  if (count < 0 || static_cast<size_t>(count) > body.remaining() / 2)
    throw DecodeError("invalid record header count " + std::to_string(count));
  r.headers.reserve(static_cast<size_t>(count));
  for (int32_t i = 0; i < count; ++i) {
    RecordHeader h;
    int32_t key_len = body.varint();
    if (key_len < 0) throw DecodeError("null or negative record header key length");
    auto k = body.take(static_cast<size_t>(key_len));
    h.key.assign(reinterpret_cast<const char*>(k.data()), k.size());
    h.value = read_nullable(body, "header value");
    r.headers.push_back(std::move(h));
  }
  if (!body.at_end())
    throw DecodeError("record declares " + std::to_string(len) + " bytes but uses " +
                      std::to_string(body.position()));
  return r;
}

std::vector<Record> decode_records(const BatchView& batch) {
  const auto& h = batch.header;
  if (h.compression() != CompressionType::kNone)
    throw DecodeError("record batch at offset " + std::to_string(h.base_offset) + " uses " +
                      std::string(compression_name(h.compression())) +
                      " compression, which is not supported yet");
  require_header(batch.bytes);
  WireReader in(batch.bytes.subspan(H::kSize));
  if (h.records_count < 0 || static_cast<size_t>(h.records_count) > in.remaining() / kMinRecordSize)
    throw DecodeError("record batch at offset " + std::to_string(h.base_offset) +
                      " has impossible records count " + std::to_string(h.records_count));
  std::vector<Record> records;
  records.reserve(static_cast<size_t>(h.records_count));
  for (int32_t i = 0; i < h.records_count; ++i) records.push_back(Record::decode(in));
  if (!in.at_end())
    throw DecodeError("record batch at offset " + std::to_string(h.base_offset) + " has " +
                      std::to_string(in.remaining()) + " bytes after its last record");
  return records;
}

// ---- builder ----------------------------------------------------------------------

void RecordBatchBuilder::note(int64_t timestamp_delta, int32_t offset_delta) {
  ++count_;
  last_offset_delta_ = std::max(last_offset_delta_, offset_delta);
  max_timestamp_delta_ = std::max(max_timestamp_delta_.value_or(timestamp_delta), timestamp_delta);
}

void RecordBatchBuilder::append(int64_t timestamp, OptBytes key, OptBytes value,
                                std::span<const RecordHeader> headers) {
  // Like Kafka's producer: the first record's timestamp becomes the base, so
  // deltas stay small varlongs.
  if (!options_.base_timestamp) options_.base_timestamp = timestamp;
  int64_t delta = timestamp - *options_.base_timestamp;
  encode_record(records_, delta, count_, key, value, headers);
  note(delta, count_);
}

void RecordBatchBuilder::append(const Record& record) {
  if (!options_.base_timestamp) options_.base_timestamp = 0;
  record.encode(records_);
  note(record.timestamp_delta, record.offset_delta);
}

std::vector<uint8_t> RecordBatchBuilder::build() const {
  WireWriter out;
  out.buffer().reserve(H::kSize + records_.size());
  build_into(out);
  return out.take();
}

void RecordBatchBuilder::build_into(WireWriter& out) const {
  if (records_.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()) - H::kSize)
    throw std::length_error("record batch too large");
  RecordBatchHeader h;
  h.base_offset = options_.base_offset;
  h.batch_length = static_cast<int32_t>(H::kSize - H::kLogOverhead + records_.size());
  h.partition_leader_epoch = options_.partition_leader_epoch;
  h.attributes = static_cast<int16_t>(
      (options_.timestamp_type == TimestampType::kLogAppendTime ? H::kTimestampTypeBit : 0) |
      (options_.transactional ? H::kTransactionalBit : 0) |
      (options_.control ? H::kControlBit : 0));
  h.last_offset_delta = last_offset_delta_;
  h.base_timestamp = options_.base_timestamp.value_or(-1);
  h.max_timestamp =
      max_timestamp_delta_ ? h.base_timestamp + *max_timestamp_delta_ : h.base_timestamp;
  h.producer_id = options_.producer_id;
  h.producer_epoch = options_.producer_epoch;
  h.base_sequence = options_.base_sequence;
  h.records_count = count_;

  size_t start = out.size();
  h.write(out);
  out.raw(records_.view());
  uint32_t crc = crc32c(out.view().subspan(start + H::kAttributesPos));
  out.patch_int32(start + H::kCrcPos, static_cast<int32_t>(crc));
}

}  // namespace samsa::protocol
