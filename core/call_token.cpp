#include "core/call_token.hpp"

#include "core/crypto.hpp"

namespace al {

namespace {

constexpr std::size_t token_bytes = 24; // 192 bits

std::string mac_input(std::string_view purpose, std::string_view subject) {
  // Length-prefixing the purpose keeps ("ab","c") and ("a","bc") distinct.
  std::string data = "al-token-v1:";
  data += std::to_string(purpose.size());
  data.push_back(':');
  data.append(purpose);
  data.push_back(':');
  data.append(subject);
  return data;
}

} // namespace

std::string issue_token(std::string_view key, std::string_view purpose,
                        std::string_view subject) {
  if (key.empty())
    return {};
  auto mac = crypto::hmac_sha256(key, mac_input(purpose, subject));
  return crypto::base64url_encode(std::string_view{mac}.substr(0, token_bytes));
}

bool verify_token(std::string_view key, std::string_view purpose,
                  std::string_view subject, std::string_view token) {
  if (key.empty() || token.empty())
    return false;
  return crypto::constant_time_equal(issue_token(key, purpose, subject), token);
}

std::string issue_call_token(std::string_view key, std::string_view call_sid) {
  return issue_token(key, call_token_purpose, call_sid);
}

bool verify_call_token(std::string_view key, std::string_view call_sid,
                       std::string_view token) {
  return verify_token(key, call_token_purpose, call_sid, token);
}

} // namespace al
