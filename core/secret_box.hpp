#pragma once

// Tenant secrets encrypted at rest (Twilio auth tokens, PSP keys, ...): a
// column value is either a legacy clear value or a sealed envelope
//
//   enc:v1:<key id>:<base64url(nonce(12) | ciphertext | tag(16))>
//
// (base64url without padding): AES-256-GCM under a data key derived from
// SECRET_KEY with HKDF-SHA256, a fresh random 96-bit nonce per value, and
// the column name as additional authenticated data, so that a value copied
// into another column fails to open.
// The key id names the key that sealed a value, so SECRET_KEY can rotate:
// the new key seals, the old ones (SECRET_KEYS_PREVIOUS) still open, and a
// re-encryption pass finds the stale rows by key_id_of().
//
// Pure: OpenSSL 3 EVP only, no I/O. A keyring is immutable, so one instance
// is shared by every thread; the process's ring is installed once at
// start-up (install) and read wherever rows are decoded (active, reveal).

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace al::secrets {

/// A 256-bit data key derived from a SECRET_KEY string with HKDF-SHA256
/// (salt "agentlocator", info "secrets-at-rest v1"), and its id: the first 8
/// hex chars of HKDF with info "secrets-at-rest key id v1" (so a key
/// identifies itself; the id reveals nothing usable). `bytes` is wiped on
/// destruction.
struct data_key {
  std::string id;    // 8 lowercase hex chars
  std::string bytes; // 32 raw bytes
  data_key() = default;
  data_key(std::string id, std::string bytes);
  data_key(const data_key&) = default;
  data_key(data_key&&) noexcept = default;
  data_key& operator=(const data_key&) = default;
  data_key& operator=(data_key&&) noexcept = default;
  ~data_key();
};

/// Throws std::invalid_argument for an empty `secret_key` (an empty key is
/// no key: the caller decides what running without one means) and
/// std::runtime_error when OpenSSL fails.
data_key derive_key(std::string_view secret_key);

/// What a stored column value is.
enum class open_status {
  ok,          // a valid envelope under a known key: `value` is the secret
  plaintext,   // not an envelope (a row written before encryption)
  unknown_key, // well-formed, but its key id is not in the ring
  corrupt,     // a malformed envelope, or authentication failed
};

/// The result of keyring::open. `value` is the plaintext for ok and
/// plaintext, empty otherwise; `key_id` is the envelope's key id for ok and
/// unknown_key, empty otherwise.
struct opened {
  open_status status = open_status::corrupt;
  std::string value;
  std::string key_id;
};

/// The keys of this process: the current one seals; it and the previous ones
/// open. Immutable after construction; thread-safe to share. Key material is
/// wiped when the ring is destroyed.
class keyring {
public:
  /// No key: seal throws, open reports every envelope as unknown_key.
  keyring() = default;

  /// `current` seals; `current` and `previous` open. A previous key equal to
  /// another is ignored. Throws std::invalid_argument for an empty key or
  /// when two different keys have the same id (one chance in 2^32).
  keyring(std::string_view current, const std::vector<std::string>& previous);

  bool has_key() const noexcept;

  /// The id new envelopes carry; "" without a key.
  const std::string& current_id() const noexcept;

  /// True when a value sealed under `key_id` opens with this ring.
  bool knows(std::string_view key_id) const noexcept;

  /// "enc:v1:<key id>:<base64url no padding of nonce(12) | ciphertext |
  /// tag(16)>" with AES-256-GCM under the current key, a random 96-bit nonce
  /// and `context` as additional authenticated data (callers pass the column
  /// name, e.g. "twilio_auth_token", so a value cannot be moved to another
  /// column). Any bytes, the empty string included. Throws std::logic_error
  /// without a key, std::length_error past 1 GiB, std::runtime_error when
  /// OpenSSL fails (no randomness).
  std::string seal(std::string_view plaintext, std::string_view context) const;

  /// A value not starting with "enc:" is `plaintext` (returned as is: rows
  /// written before encryption); `unknown_key` when the id is not in the
  /// ring; `corrupt` on any malformed envelope (other version, bad id,
  /// non-canonical base64url, too short) or failed authentication (another
  /// key, another context, any changed byte). Hostile input is safe: never
  /// throws (but std::bad_alloc), never reads out of bounds.
  opened open(std::string_view stored, std::string_view context) const;

private:
  const data_key* find(std::string_view key_id) const noexcept;

  std::vector<data_key> keys_; // keys_[0] is the current key
};

/// True for "enc:" values (well-formed or not). A clear value that happens
/// to start with "enc:" is indistinguishable from a corrupt envelope.
bool is_sealed(std::string_view stored) noexcept;

/// The key id of a sealed value: its "enc:v1:<8 lowercase hex>:" header,
/// the body unchecked. nullopt if the value has no such header.
std::optional<std::string> key_id_of(std::string_view stored);

/// The process's keyring, installed once at start-up (application::start)
/// and read by the store's row readers. Until installed (or after
/// install(nullptr)): an empty ring. Both are thread-safe.
void install(std::shared_ptr<const keyring> ring);
std::shared_ptr<const keyring> active();

/// Shorthands over active(): seal with the current key if there is one, else
/// return the plaintext unchanged (installations without SECRET_KEY keep
/// clear values; start-up warns).
std::string seal_if_keyed(std::string_view plaintext, std::string_view context);

/// The plaintext for ok and plaintext values; nullopt for unknown_key and
/// corrupt ones (the caller logs and treats the secret as missing).
std::optional<std::string> reveal(std::string_view stored,
                                  std::string_view context);

} // namespace al::secrets
