#include "test_support.hpp"

#include "storage/encoding.hpp"
#include "storage/errors.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sys/stat.h>

using namespace skyiq;
using namespace skyiq::storage;

namespace {

std::shared_ptr<const master_key> make_key(char digit) {
  auto key = master_key::from_hex(std::string(64, digit));
  REQUIRE(key);
  return *key;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& content,
                mode_t mode) {
  std::ofstream(path) << content;
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

// Returns `sealed` with one byte of its decoded form flipped.
std::string flip_byte(const std::string& sealed, std::size_t index) {
  auto blob = base64_decode(sealed);
  REQUIRE(blob);
  (*blob)[index] = static_cast<char>((*blob)[index] ^ 0x01);
  return base64_encode(*blob);
}

} // namespace

TEST_CASE("sealed secret round trip") {
  auto key = make_key('a');
  auto sealed = encrypt_secret(*key, "auth-token-value", "account-1");
  REQUIRE(sealed);
  CHECK(sealed->find("auth-token-value") == std::string::npos);
  auto opened = decrypt_secret(*key, *sealed, "account-1");
  REQUIRE(opened);
  CHECK(*opened == "auth-token-value");
}

TEST_CASE("sealed empty secret round trip") {
  auto key = make_key('a');
  auto sealed = encrypt_secret(*key, "", "account-1");
  REQUIRE(sealed);
  auto opened = decrypt_secret(*key, *sealed, "account-1");
  REQUIRE(opened);
  CHECK(opened->empty());
}

TEST_CASE("sealed secret rejects other associated data") {
  auto key = make_key('a');
  auto sealed = encrypt_secret(*key, "token", "account-1");
  REQUIRE(sealed);
  auto opened = decrypt_secret(*key, *sealed, "account-2");
  REQUIRE_FALSE(opened);
  CHECK(code_of(opened.error()) == errc::internal);
  CHECK(message_of(opened.error()).find("token") == std::string::npos);
}

TEST_CASE("sealed secret rejects another key") {
  auto sealed = encrypt_secret(*make_key('a'), "token", "account-1");
  REQUIRE(sealed);
  CHECK_FALSE(decrypt_secret(*make_key('b'), *sealed, "account-1"));
}

TEST_CASE("sealed secret rejects tampering") {
  auto key = make_key('a');
  auto sealed = encrypt_secret(*key, "twilio-token", "account-1");
  REQUIRE(sealed);
  auto size = base64_decode(*sealed)->size();
  // Version byte, nonce, ciphertext and tag: every byte is authenticated.
  for (std::size_t index = 0; index < size; ++index) {
    INFO("flipped byte " << index);
    CHECK_FALSE(decrypt_secret(*key, flip_byte(*sealed, index),
                               "account-1"));
  }
  CHECK_FALSE(decrypt_secret(*key, sealed->substr(0, 20), "account-1"));
  CHECK_FALSE(decrypt_secret(*key, "not base64!", "account-1"));
}

TEST_CASE("sealing draws a fresh nonce each time") {
  auto key = make_key('a');
  std::set<std::string> nonces;
  for (int i = 0; i < 50; ++i) {
    auto sealed = encrypt_secret(*key, "same token", "account-1");
    REQUIRE(sealed);
    nonces.insert(base64_decode(*sealed)->substr(1, 12));
  }
  CHECK(nonces.size() == 50);
}

TEST_CASE("master key file is created with mode 0600") {
  test::temp_dir dir;
  auto path = dir.path() + "/keys/nested/master.key";
  auto key = master_key::load_or_create(path);
  REQUIRE(key);
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  auto content = read_file(path);
  CHECK(content.size() == 65);
  CHECK(content.back() == '\n');
  CHECK(hex_decode(content.substr(0, 64)).has_value());
  auto again = master_key::load_or_create(path);
  REQUIRE(again);
  CHECK((*again)->bytes() == (*key)->bytes());
}

TEST_CASE("master key file readable by others is rejected") {
  test::temp_dir dir;
  auto path = dir.path() + "/master.key";
  write_file(path, std::string(64, 'c') + "\n", 0644);
  auto key = master_key::load_or_create(path);
  REQUIRE_FALSE(key);
  auto message = message_of(key.error());
  CHECK(message.find(path) != std::string::npos);
  CHECK(message.find("0644") != std::string::npos);
  CHECK(message.find("chmod 600") != std::string::npos);
}

TEST_CASE("malformed master key file is rejected") {
  test::temp_dir dir;
  auto path = dir.path() + "/master.key";
  for (const auto& content :
       {std::string(63, 'c') + "\n", std::string(64, 'g') + "\n",
        std::string(66, 'c'), std::string("\n"),
        std::string(64, 'c') + "\n\n"}) {
    INFO("content size " << content.size());
    write_file(path, content, 0600);
    auto key = master_key::load_or_create(path);
    REQUIRE_FALSE(key);
    CHECK(message_of(key.error()).find(path) != std::string::npos);
  }
}

TEST_CASE("master key file accepts a key without newline") {
  test::temp_dir dir;
  auto path = dir.path() + "/master.key";
  write_file(path, std::string(64, 'C'), 0600);
  auto key = master_key::load_or_create(path);
  REQUIRE(key);
  CHECK((*key)->bytes()[0] == 0xcc);
}

TEST_CASE("random ids and tokens have their sizes") {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    auto id = random_id();
    CHECK(id.size() == 22);
    CHECK(base64url_decode(id).value_or("").size() == 16);
    ids.insert(id);
  }
  CHECK(ids.size() == 100);
  auto token = random_token();
  CHECK(token.size() == 43);
  CHECK(base64url_decode(token).value_or("").size() == 32);
}

TEST_CASE("sha256_hex matches the FIPS 180-2 vector") {
  CHECK(sha256_hex("abc")
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("password hash verifies only its password") {
  auto hash = hash_password("correct horse", test::cheap_argon2());
  REQUIRE(hash);
  CHECK(hash->rfind("$argon2id$v=19$m=64,t=1,p=1$", 0) == 0);
  CHECK(verify_password(*hash, "correct horse"));
  CHECK_FALSE(verify_password(*hash, "correct horse "));
  CHECK_FALSE(verify_password("not a hash", "correct horse"));
  CHECK_FALSE(verify_password("", "correct horse"));
}

TEST_CASE("password hashes use fresh salts") {
  auto first = hash_password("same password", test::cheap_argon2());
  auto second = hash_password("same password", test::cheap_argon2());
  REQUIRE(first);
  REQUIRE(second);
  CHECK(*first != *second);
}
