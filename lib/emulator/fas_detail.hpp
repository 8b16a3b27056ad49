// Internal helpers shared by the FAS emulator sources (not installed, not API).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fedora::emulator::fas_detail {

// splitmix64: tiny, fast and good enough for deterministic test data.
class rng
{
public:
    explicit rng(std::uint64_t seed) noexcept : state_(seed) {}
    std::uint64_t next() noexcept
    {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // Uniform enough in [0, n) for n much smaller than 2^64.
    std::uint64_t below(std::uint64_t n) noexcept { return n == 0 ? 0 : next() % n; }
    bool percent(unsigned p) noexcept { return below(100) < p; }

private:
    std::uint64_t state_;
};

bool is_valid_utf8(std::string_view s) noexcept;

// ASCII-only lower-casing (Python's lower() also folds non-ASCII letters; FAS names are ASCII).
std::string ascii_lower(std::string_view s);

// SQL LIKE as PostgreSQL does it: '%' any run, '_' one character (code point), '\' escapes.
// case_insensitive folds ASCII letters only (ILIKE). Compile once, match many: patterns come
// from requests (up to the form size limit) and are matched against every account.
class like_matcher
{
public:
    like_matcher(std::string_view pattern, bool case_insensitive = false);
    bool operator()(std::string_view text) const noexcept;

private:
    struct token
    {
        enum kind_t : std::uint8_t { literal, any_one, any_run } kind;
        std::string_view text; // literal: one code point's bytes (a view into the pattern)
    };
    std::vector<token> tokens_;
    std::size_t min_chars_ = 0; // non-'%' tokens: a shorter text cannot match
    bool ci_;
};
bool sql_like(std::string_view text, std::string_view pattern, bool case_insensitive = false);

// Appends `json` (UTF-8 JSON text) with every non-ASCII code point written as \uXXXX (a
// surrogate pair above U+FFFF), as simplejson's ensure_ascii does. Invalid UTF-8 becomes
// \ufffd so the output is always valid JSON.
void append_ascii_json(std::string& out, std::string_view json);

std::string hex_lower(const unsigned char* data, std::size_t n);
std::string sha1_hex(std::string_view data);
// Random 160-bit key as 40 lowercase hex characters (what TG's visit keys look like).
std::string random_visit_key();

std::string html_escape(std::string_view s);
// Percent-encodes everything except unreserved characters (for Location paths, cookies).
std::string pct_encode(std::string_view s);

} // namespace fedora::emulator::fas_detail
