#pragma once
// How a KRaft metadata record sits in a record's value (Kafka's metadata
// record serde): uvarint frame version (1), uvarint record type (the record
// schema's apiKey), uvarint record version, then the record itself.
// Keys are null.
#include <cstdint>
#include <span>
#include <vector>

#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::raft {

constexpr uint32_t kMetadataFrameVersion = 1;

template <typename Record>
std::vector<uint8_t> frame_metadata_record(const Record& record, int16_t version) {
  protocol::WireWriter w;
  w.uvarint(kMetadataFrameVersion);
  w.uvarint(static_cast<uint32_t>(Record::kApiKey));
  w.uvarint(static_cast<uint32_t>(version));
  record.encode(w, version);
  return w.take();
}

struct MetadataRecordHeader {
  int16_t type = -1;
  int16_t version = 0;
};

// Reads the frame prefix, leaving `in` at the record body.
// Throws DecodeError on an unknown frame version.
MetadataRecordHeader read_metadata_record_header(protocol::WireReader& in);

}  // namespace samsa::raft
