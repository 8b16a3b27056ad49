// Text helpers for the FAS emulator: UTF-8 checks, SQL LIKE, JSON ASCII escaping, hashes.
#include "fas_detail.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace fedora::emulator::fas_detail {

namespace {

// Decodes one UTF-8 sequence at s[i]; returns the code point and advances i, or returns -1
// (and advances by one byte) for an invalid, overlong or surrogate sequence.
long decode_utf8(std::string_view s, std::size_t& i) noexcept
{
    auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        ++i;
        return b0;
    }
    int len = 0;
    long cp = 0;
    long min = 0;
    if ((b0 & 0xE0) == 0xC0) { len = 2; cp = b0 & 0x1F; min = 0x80; }
    else if ((b0 & 0xF0) == 0xE0) { len = 3; cp = b0 & 0x0F; min = 0x800; }
    else if ((b0 & 0xF8) == 0xF0) { len = 4; cp = b0 & 0x07; min = 0x10000; }
    else { ++i; return -1; }
    if (i + static_cast<std::size_t>(len) > s.size()) { ++i; return -1; }
    for (int k = 1; k < len; ++k) {
        auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
        if ((b & 0xC0) != 0x80) { ++i; return -1; }
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { ++i; return -1; }
    i += static_cast<std::size_t>(len);
    return cp;
}

char fold(char c, bool ci) noexcept
{
    return (ci && c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::size_t utf8_len(std::string_view s, std::size_t i) noexcept
{
    std::size_t j = i;
    decode_utf8(s, j);
    return j - i;
}

} // namespace

bool is_valid_utf8(std::string_view s) noexcept
{
    for (std::size_t i = 0; i < s.size();) {
        if (static_cast<unsigned char>(s[i]) < 0x80) { ++i; continue; }
        if (decode_utf8(s, i) < 0) return false;
    }
    return true;
}

std::string ascii_lower(std::string_view s)
{
    std::string out(s);
    for (char& c : out) c = fold(c, true);
    return out;
}

like_matcher::like_matcher(std::string_view pattern, bool case_insensitive)
    : ci_(case_insensitive)
{
    for (std::size_t i = 0; i < pattern.size();) {
        char c = pattern[i];
        if (c == '%') {
            if (tokens_.empty() || tokens_.back().kind != token::any_run)
                tokens_.push_back({token::any_run, {}});
            ++i;
        } else if (c == '_') {
            tokens_.push_back({token::any_one, {}});
            ++min_chars_;
            ++i;
        } else {
            if (c == '\\' && i + 1 < pattern.size()) ++i; // escaped literal
            std::size_t n = utf8_len(pattern, i);
            tokens_.push_back({token::literal, pattern.substr(i, n)});
            ++min_chars_;
            i += n;
        }
    }
}

bool like_matcher::operator()(std::string_view text) const noexcept
{
    // Every character is at least one byte, so a text with fewer bytes than the pattern has
    // fixed characters cannot match: hostile 10 KiB patterns cost nothing per row.
    if (text.size() < min_chars_) return false;
    auto match_one = [&](const token& t, std::size_t pos, std::size_t& next) {
        if (pos >= text.size()) return false;
        std::size_t n = utf8_len(text, pos);
        if (t.kind == token::any_one) { next = pos + n; return true; }
        if (n != t.text.size()) return false;
        for (std::size_t k = 0; k < n; ++k)
            if (fold(text[pos + k], ci_) != fold(t.text[k], ci_)) return false;
        next = pos + n;
        return true;
    };
    // The iterative "remember the last %" algorithm: no recursion, O(n*m) worst case.
    std::size_t ti = 0, pi = 0;
    std::size_t star_p = SIZE_MAX, star_t = 0;
    while (ti < text.size()) {
        std::size_t next = 0;
        if (pi < tokens_.size() && tokens_[pi].kind == token::any_run) {
            star_p = pi++;
            star_t = ti;
        } else if (pi < tokens_.size() && match_one(tokens_[pi], ti, next)) {
            ti = next;
            ++pi;
        } else if (star_p != SIZE_MAX) {
            pi = star_p + 1;
            star_t += utf8_len(text, star_t);
            ti = star_t;
        } else {
            return false;
        }
    }
    while (pi < tokens_.size() && tokens_[pi].kind == token::any_run) ++pi;
    return pi == tokens_.size();
}

bool sql_like(std::string_view text, std::string_view pattern, bool case_insensitive)
{
    return like_matcher(pattern, case_insensitive)(text);
}

void append_ascii_json(std::string& out, std::string_view json)
{
    static constexpr char hex[] = "0123456789abcdef";
    auto put_u = [&](unsigned v) {
        char buf[6] = {'\\', 'u', hex[(v >> 12) & 0xF], hex[(v >> 8) & 0xF], hex[(v >> 4) & 0xF],
                       hex[v & 0xF]};
        out.append(buf, 6);
    };
    std::size_t run = 0; // start of the current ASCII run, appended in one go
    std::size_t i = 0;
    while (i < json.size()) {
        // Eight bytes at a time: almost all output is ASCII.
        while (i + 8 <= json.size()) {
            std::uint64_t w;
            std::memcpy(&w, json.data() + i, 8);
            if (w & 0x8080808080808080ULL) break;
            i += 8;
        }
        if (i >= json.size()) break;
        if (static_cast<unsigned char>(json[i]) < 0x80) { ++i; continue; }
        out.append(json.data() + run, i - run);
        long cp = decode_utf8(json, i);
        if (cp < 0) {
            put_u(0xFFFD);
        } else if (cp >= 0x10000) {
            auto v = static_cast<unsigned>(cp - 0x10000);
            put_u(0xD800 + (v >> 10));
            put_u(0xDC00 + (v & 0x3FF));
        } else {
            put_u(static_cast<unsigned>(cp));
        }
        run = i;
    }
    out.append(json.data() + run, json.size() - run);
}

std::string hex_lower(const unsigned char* data, std::size_t n)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string out(n * 2, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = hex[data[i] >> 4];
        out[2 * i + 1] = hex[data[i] & 0xF];
    }
    return out;
}

std::string sha1_hex(std::string_view data)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha1(), nullptr) != 1)
        throw std::runtime_error("EVP_Digest(sha1) failed");
    return hex_lower(md, len);
}

std::string random_visit_key()
{
    std::array<unsigned char, 20> buf{};
    if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1)
        throw std::runtime_error("RAND_bytes failed");
    return hex_lower(buf.data(), buf.size());
}

std::string html_escape(std::string_view s)
{
    std::string out;
    out.reserve(s.size() + 16);
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

std::string pct_encode(std::string_view s)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
        if (unreserved) {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xF];
        }
    }
    return out;
}

} // namespace fedora::emulator::fas_detail
