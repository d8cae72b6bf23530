#include "core/secret_box.hpp"

#include "core/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <atomic>
#include <limits>
#include <stdexcept>
#include <utility>

namespace al::secrets {

namespace {

constexpr std::string_view salt = "agentlocator";
constexpr std::string_view key_info = "secrets-at-rest v1";
constexpr std::string_view id_info = "secrets-at-rest key id v1";

constexpr std::string_view prefix = "enc:";       // any envelope
constexpr std::string_view v1_prefix = "enc:v1:"; // the one version we write
constexpr std::size_t key_len = 32;               // AES-256
constexpr std::size_t id_len = 8;                 // hex chars
constexpr std::size_t header_len = v1_prefix.size() + id_len + 1;
constexpr std::size_t nonce_len = 12; // GCM's native 96-bit IV
constexpr std::size_t tag_len = 16;
// EVP takes int lengths; column values are far smaller.
constexpr std::size_t max_plaintext = std::size_t{1} << 30;

struct ossl_free {
  void operator()(EVP_KDF* p) const noexcept {
    EVP_KDF_free(p);
  }
  void operator()(EVP_KDF_CTX* p) const noexcept {
    EVP_KDF_CTX_free(p);
  }
  void operator()(EVP_CIPHER_CTX* p) const noexcept {
    EVP_CIPHER_CTX_free(p); // also wipes the expanded key schedule
  }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, ossl_free>;

unsigned char* bytes_of(std::string& s) {
  return reinterpret_cast<unsigned char*>(s.data());
}
const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// HKDF-SHA256 (extract and expand) of `secret` with our salt and `info`,
// `n` bytes into `out`.
void hkdf(std::string_view secret, std::string_view info, unsigned char* out,
          std::size_t n) {
  std::unique_ptr<EVP_KDF, ossl_free> kdf{
    EVP_KDF_fetch(nullptr, "HKDF", nullptr)};
  if (!kdf)
    throw std::runtime_error("secrets: HKDF unavailable");
  std::unique_ptr<EVP_KDF_CTX, ossl_free> ctx{EVP_KDF_CTX_new(kdf.get())};
  if (!ctx)
    throw std::runtime_error("secrets: EVP_KDF_CTX_new failed");
  char digest[] = "SHA256";
  // OSSL_PARAM wants non-const pointers; these are only read.
  auto octets = [](const char* name, std::string_view s) {
    return OSSL_PARAM_construct_octet_string(name, const_cast<char*>(s.data()),
                                             s.size());
  };
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
    octets(OSSL_KDF_PARAM_KEY, secret),
    octets(OSSL_KDF_PARAM_SALT, salt),
    octets(OSSL_KDF_PARAM_INFO, info),
    OSSL_PARAM_construct_end(),
  };
  if (EVP_KDF_derive(ctx.get(), out, n, params) != 1)
    throw std::runtime_error("secrets: HKDF failed");
}

bool lower_hex(std::string_view s) noexcept {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

// The "<id>" of an "enc:v1:<8 lowercase hex>:" header, empty if malformed.
std::string_view header_id(std::string_view stored) noexcept {
  if (stored.size() < header_len
      || stored.substr(0, v1_prefix.size()) != v1_prefix
      || stored[header_len - 1] != ':')
    return {};
  auto id = stored.substr(v1_prefix.size(), id_len);
  return lower_hex(id) ? id : std::string_view{};
}

// The installed ring; null until install(). A shared_ptr's default
// constructor is constexpr, so this is initialised before any dynamic
// initialiser could read it.
std::shared_ptr<const keyring> installed;

const std::shared_ptr<const keyring>& empty_ring() {
  static const auto ring = std::make_shared<const keyring>();
  return ring;
}

} // namespace

// -- data_key -----------------------------------------------------------------

data_key::data_key(std::string id, std::string bytes)
  : id(std::move(id))
  , bytes(std::move(bytes)) {}

data_key::~data_key() {
  OPENSSL_cleanse(bytes.data(), bytes.size());
}

data_key derive_key(std::string_view secret_key) {
  if (secret_key.empty())
    throw std::invalid_argument("secrets: empty SECRET_KEY");
  std::string bytes(key_len, '\0');
  hkdf(secret_key, key_info, bytes_of(bytes), bytes.size());
  // The id comes from an independent HKDF output: knowing it (it is stored
  // in every envelope) tells nothing about the data key.
  std::string id_bytes(key_len, '\0');
  hkdf(secret_key, id_info, bytes_of(id_bytes), id_bytes.size());
  auto id = crypto::to_hex(std::string_view{id_bytes}.substr(0, id_len / 2));
  OPENSSL_cleanse(id_bytes.data(), id_bytes.size());
  return data_key{std::move(id), std::move(bytes)};
}

// -- keyring ------------------------------------------------------------------

keyring::keyring(std::string_view current,
                 const std::vector<std::string>& previous) {
  // Reserved up front: no reallocation leaves unwiped copies behind.
  keys_.reserve(1 + previous.size());
  auto add = [this](data_key k) {
    for (auto& e : keys_) {
      if (e.id != k.id)
        continue;
      if (crypto::constant_time_equal(e.bytes, k.bytes))
        return; // the same key listed twice
      throw std::invalid_argument("secrets: two keys share the id " + k.id);
    }
    keys_.push_back(std::move(k));
  };
  add(derive_key(current));
  for (auto& p : previous)
    add(derive_key(p));
}

bool keyring::has_key() const noexcept {
  return !keys_.empty();
}

const std::string& keyring::current_id() const noexcept {
  static const std::string none;
  return keys_.empty() ? none : keys_.front().id;
}

bool keyring::knows(std::string_view key_id) const noexcept {
  return find(key_id) != nullptr;
}

const data_key* keyring::find(std::string_view key_id) const noexcept {
  for (auto& k : keys_)
    if (k.id == key_id)
      return &k;
  return nullptr;
}

std::string keyring::seal(std::string_view plaintext,
                          std::string_view context) const {
  if (keys_.empty())
    throw std::logic_error("secrets: seal without a key");
  if (plaintext.size() > max_plaintext || context.size() > max_plaintext)
    throw std::length_error("secrets: value too large to seal");
  auto& key = keys_.front();
  // body = nonce | ciphertext | tag, filled in place.
  auto n = plaintext.size();
  std::string body(nonce_len + n + tag_len, '\0');
  auto* nonce = bytes_of(body);
  auto* ct = nonce + nonce_len;
  auto* tag = ct + n;
  if (RAND_bytes(nonce, static_cast<int>(nonce_len)) != 1)
    throw std::runtime_error("secrets: RAND_bytes failed");
  cipher_ctx ctx{EVP_CIPHER_CTX_new()};
  int len = 0;
  int total = 0;
  // GCM is a stream mode: Update writes exactly its input, Final nothing.
  bool ok
    = ctx
      && EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(),
                             bytes_of(std::string_view{key.bytes}), nonce,
                             nullptr)
           == 1
      && (context.empty()
          || EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes_of(context),
                               static_cast<int>(context.size()))
               == 1)
      && (n == 0
          || (EVP_EncryptUpdate(ctx.get(), ct, &total, bytes_of(plaintext),
                                static_cast<int>(n))
              == 1))
      && EVP_EncryptFinal_ex(ctx.get(), ct + total, &len) == 1
      && static_cast<std::size_t>(total + len) == n
      && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG,
                             static_cast<int>(tag_len), tag)
           == 1;
  if (!ok)
    throw std::runtime_error("secrets: AES-256-GCM encryption failed");
  std::string out;
  out.reserve(header_len + (body.size() * 4 + 2) / 3);
  out.append(v1_prefix).append(key.id).push_back(':');
  out += crypto::base64url_encode(body);
  return out;
}

opened keyring::open(std::string_view stored, std::string_view context) const {
  opened r; // corrupt until proven otherwise
  if (!is_sealed(stored)) {
    r.status = open_status::plaintext;
    r.value.assign(stored);
    return r;
  }
  // Shape first, so a broken value reads as corrupt whatever its key.
  auto id = header_id(stored);
  if (id.empty())
    return r;
  auto body = crypto::base64url_decode(stored.substr(header_len));
  if (!body || body->size() < nonce_len + tag_len
      || body->size() > max_plaintext + nonce_len + tag_len
      || context.size() > max_plaintext)
    return r;
  auto* key = find(id);
  if (!key) {
    r.status = open_status::unknown_key;
    r.key_id.assign(id);
    return r;
  }
  auto n = body->size() - nonce_len - tag_len;
  auto* nonce = bytes_of(*body);
  auto* ct = nonce + nonce_len;
  auto* tag = ct + n;
  std::string out(n, '\0');
  cipher_ctx ctx{EVP_CIPHER_CTX_new()};
  int len = 0;
  int total = 0;
  // Final checks the tag: any changed bit of key, nonce, context, ciphertext
  // or tag fails here.
  bool ok
    = ctx
      && EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(),
                             bytes_of(std::string_view{key->bytes}), nonce,
                             nullptr)
           == 1
      && (context.empty()
          || EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes_of(context),
                               static_cast<int>(context.size()))
               == 1)
      && (n == 0
          || EVP_DecryptUpdate(ctx.get(), bytes_of(out), &total, ct,
                               static_cast<int>(n))
               == 1)
      && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG,
                             static_cast<int>(tag_len), tag)
           == 1
      && EVP_DecryptFinal_ex(ctx.get(), bytes_of(out) + total, &len) == 1
      && static_cast<std::size_t>(total + len) == n;
  if (!ok) {
    // Decryption wrote unauthenticated plaintext: do not leave it around.
    OPENSSL_cleanse(out.data(), out.size());
    return r;
  }
  r.status = open_status::ok;
  r.value = std::move(out);
  r.key_id = key->id;
  return r;
}

// -- free functions
// -------------------------------------------------------------

bool is_sealed(std::string_view stored) noexcept {
  return stored.substr(0, prefix.size()) == prefix;
}

std::optional<std::string> key_id_of(std::string_view stored) {
  auto id = header_id(stored);
  if (id.empty())
    return std::nullopt;
  return std::string{id};
}

void install(std::shared_ptr<const keyring> ring) {
  std::atomic_store(&installed, std::move(ring));
}

std::shared_ptr<const keyring> active() {
  auto ring = std::atomic_load(&installed);
  return ring ? ring : empty_ring();
}

std::string seal_if_keyed(std::string_view plaintext,
                          std::string_view context) {
  auto ring = active();
  if (!ring->has_key())
    return std::string{plaintext};
  return ring->seal(plaintext, context);
}

std::optional<std::string> reveal(std::string_view stored,
                                  std::string_view context) {
  auto o = active()->open(stored, context);
  if (o.status == open_status::ok || o.status == open_status::plaintext)
    return std::move(o.value);
  return std::nullopt;
}

} // namespace al::secrets
