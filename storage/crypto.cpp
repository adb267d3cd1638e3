#include "storage/crypto.hpp"

#include "storage/encoding.hpp"
#include "storage/errors.hpp"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>

namespace skyiq::storage {

namespace {

constexpr unsigned char sealed_version = 1;
constexpr std::size_t nonce_size = 12;
constexpr std::size_t tag_size = 16;
constexpr std::size_t salt_size = 16;
constexpr std::size_t password_hash_size = 32;

struct cipher_ctx_deleter {
  void operator()(EVP_CIPHER_CTX* ctx) const {
    EVP_CIPHER_CTX_free(ctx);
  }
};

using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;

const unsigned char* bytes_of(const std::string& text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

unsigned char* bytes_of(std::string& text) {
  return reinterpret_cast<unsigned char*>(text.data());
}

std::string random_bytes(std::size_t count) {
  std::string out(count, '\0');
  if (RAND_bytes(bytes_of(out), static_cast<int>(count)) != 1) {
    std::fputs("skyiq: OpenSSL RAND_bytes failed; stopping rather than "
               "issuing predictable ids or nonces\n",
               stderr);
    std::abort();
  }
  return out;
}

// The version byte is authenticated along with the caller's data, so a
// sealed value cannot be relabelled as another format.
std::string authenticated_data(const std::string& associated_data) {
  std::string aad(1, static_cast<char>(sealed_version));
  return aad + associated_data;
}

caf::error openssl_failure(const char* step) {
  return make_error(errc::internal,
                    std::string("AES-256-GCM failed in OpenSSL at ") + step);
}

caf::expected<std::string> gcm_seal(const master_key& key,
                                    const std::string& nonce,
                                    const std::string& aad,
                                    const std::string& plaintext) {
  cipher_ctx ctx{EVP_CIPHER_CTX_new()};
  int len = 0;
  std::string body(plaintext.size(), '\0');
  std::string tag(tag_size, '\0');
  if (!ctx
      || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                            key.bytes().data(), bytes_of(nonce))
           != 1) {
    return openssl_failure("encrypt init");
  }
  if (EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes_of(aad),
                        static_cast<int>(aad.size()))
        != 1
      || EVP_EncryptUpdate(ctx.get(), bytes_of(body), &len,
                           bytes_of(plaintext),
                           static_cast<int>(plaintext.size()))
           != 1) {
    return openssl_failure("encrypt update");
  }
  if (EVP_EncryptFinal_ex(ctx.get(), bytes_of(body) + len, &len) != 1
      || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, tag_size,
                             bytes_of(tag))
           != 1) {
    return openssl_failure("encrypt final");
  }
  return body + tag;
}

caf::expected<std::string> gcm_open(const master_key& key,
                                    const std::string& nonce,
                                    const std::string& aad,
                                    const std::string& body,
                                    std::string tag) {
  cipher_ctx ctx{EVP_CIPHER_CTX_new()};
  int len = 0;
  std::string plaintext(body.size(), '\0');
  if (!ctx
      || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                            key.bytes().data(), bytes_of(nonce))
           != 1) {
    return openssl_failure("decrypt init");
  }
  if (EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes_of(aad),
                        static_cast<int>(aad.size()))
        != 1
      || EVP_DecryptUpdate(ctx.get(), bytes_of(plaintext), &len,
                           bytes_of(body), static_cast<int>(body.size()))
           != 1
      || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, tag_size,
                             bytes_of(tag))
           != 1) {
    return openssl_failure("decrypt update");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), bytes_of(plaintext) + len, &len) != 1) {
    OPENSSL_cleanse(bytes_of(plaintext), plaintext.size());
    return make_error(errc::internal,
                      "sealed secret failed authentication: it was sealed "
                      "under another master key or for another account, "
                      "or it was modified");
  }
  return plaintext;
}

} // namespace

master_key::~master_key() {
  OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

caf::expected<std::shared_ptr<const master_key>>
master_key::from_hex(const std::string& hex) {
  auto raw = hex_decode(hex);
  if (!raw || raw->size() != size) {
    return make_error(errc::invalid_request,
                      "master key must be 64 hex characters (32 bytes)");
  }
  std::shared_ptr<master_key> key{new master_key};
  std::copy(raw->begin(), raw->end(), key->bytes_.begin());
  OPENSSL_cleanse(bytes_of(*raw), raw->size());
  return std::shared_ptr<const master_key>{std::move(key)};
}

caf::expected<std::string> encrypt_secret(const master_key& key,
                                          const std::string& plaintext,
                                          const std::string& associated_data) {
  auto nonce = random_bytes(nonce_size);
  auto sealed = gcm_seal(key, nonce, authenticated_data(associated_data),
                         plaintext);
  if (!sealed) {
    return sealed.error();
  }
  std::string blob(1, static_cast<char>(sealed_version));
  blob += nonce;
  blob += *sealed;
  return base64_encode(blob);
}

caf::expected<std::string> decrypt_secret(const master_key& key,
                                          const std::string& sealed,
                                          const std::string& associated_data) {
  auto blob = base64_decode(sealed);
  if (!blob || blob->size() < 1 + nonce_size + tag_size) {
    return make_error(errc::internal,
                      "sealed secret is malformed: expected base64 of at "
                      "least 29 bytes");
  }
  if (static_cast<unsigned char>((*blob)[0]) != sealed_version) {
    return make_error(errc::internal,
                      "sealed secret has unknown format version "
                        + std::to_string(std::uint8_t((*blob)[0])));
  }
  auto nonce = blob->substr(1, nonce_size);
  auto body_size = blob->size() - 1 - nonce_size - tag_size;
  auto body = blob->substr(1 + nonce_size, body_size);
  auto tag = blob->substr(1 + nonce_size + body_size);
  return gcm_open(key, nonce, authenticated_data(associated_data), body,
                  std::move(tag));
}

std::string random_id() {
  return base64url_encode(random_bytes(16));
}

std::string random_token() {
  return base64url_encode(random_bytes(32));
}

std::string sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &digest_size,
                 EVP_sha256(), nullptr)
      != 1) {
    std::fputs("skyiq: OpenSSL SHA-256 failed\n", stderr);
    std::abort();
  }
  return hex_encode(std::string_view(reinterpret_cast<char*>(digest),
                                     digest_size));
}

caf::expected<std::string> hash_password(const std::string& password,
                                         const argon2_params& params) {
  auto salt = random_bytes(salt_size);
  auto encoded_size = argon2_encodedlen(params.iterations, params.memory_kib,
                                        params.parallelism, salt_size,
                                        password_hash_size, Argon2_id);
  std::string encoded(encoded_size, '\0');
  int rc = argon2id_hash_encoded(params.iterations, params.memory_kib,
                                 params.parallelism, password.data(),
                                 password.size(), salt.data(), salt.size(),
                                 password_hash_size, encoded.data(),
                                 encoded.size());
  if (rc != ARGON2_OK) {
    return make_error(errc::internal,
                      std::string("Argon2id hashing failed: ")
                        + argon2_error_message(rc));
  }
  encoded.resize(encoded.find('\0'));
  return encoded;
}

bool verify_password(const std::string& encoded,
                     const std::string& password) {
  return argon2id_verify(encoded.c_str(), password.data(), password.size())
         == ARGON2_OK;
}

} // namespace skyiq::storage
