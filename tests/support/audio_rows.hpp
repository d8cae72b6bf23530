#pragma once

// Test seeding of call audio kept in PostgreSQL (schemas/0017_audio.sql):
// the SQL that stores bytes as one complete call_audio object, in the
// 256 KiB chunks actors/audio_store.cpp writes, for sql_value / crm.sql.

#include <cstdint>
#include <string>

namespace al::test {

/// `bytes` as a hex literal for decode(..., 'hex').
inline std::string hex_of(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

/// One statement that stores a complete object (kind 'segment',
/// 'recording' or 'call') of call `sid` of `business`; returns its id.
inline std::string
audio_insert_sql(std::int64_t business, const std::string& sid,
                 const std::string& kind, int seq,
                 const std::string& content_type, const std::string& bytes,
                 int duration_ms = 0) {
  constexpr std::size_t chunk = 256 * 1024;
  std::string head
    = "INSERT INTO call_audio (business_id, call_sid, kind, seq,"
      " content_type, total_bytes, duration_ms, complete) VALUES ("
      + std::to_string(business) + ", '" + sid + "', '" + kind + "', "
      + std::to_string(seq) + ", '" + content_type + "', "
      + std::to_string(bytes.size()) + ", " + std::to_string(duration_ms)
      + ", true) RETURNING id";
  if (bytes.empty())
    return head;
  std::string values;
  for (std::size_t off = 0, n = 0; off < bytes.size(); off += chunk, ++n)
    values += std::string{values.empty() ? "" : ", "} + "(" + std::to_string(n)
              + ", decode('" + hex_of(bytes.substr(off, chunk)) + "', 'hex'))";
  return "WITH a AS (" + head
         + ") INSERT INTO call_audio_chunks (audio_id, chunk_no, data)"
           " SELECT a.id, c.no, c.data FROM a, (VALUES "
         + values + ") AS c(no, data) RETURNING audio_id";
}

} // namespace al::test
