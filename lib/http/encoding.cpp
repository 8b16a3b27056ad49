#include <fedora/http/encoding.hpp>

#include "origin.hpp"

#include <boost/url/pct_string_view.hpp>

#include <array>

namespace fedora::http {
namespace urls = boost::urls;

namespace {

// The one percent-encoder of the SDK, for form fields and path segments alike. Only RFC
// 3986's unreserved characters stay literal: what python's quote_plus keeps in a form, and
// inside a path segment no '/', ';', '=', ':' or '@' either, so a value can never add a
// segment or look like a parameter. Runs of literal characters are copied whole (Boost.URL's
// encode went through a character-class test and a size pass first: a tenth of building a
// FAS request).
constexpr auto unreserved_table = [] {
    std::array<bool, 256> t{};
    for (int c = 'A'; c <= 'Z'; ++c)
        t[c] = t[c - 'A' + 'a'] = true;
    for (int c = '0'; c <= '9'; ++c)
        t[c] = true;
    t['-'] = t['.'] = t['_'] = t['~'] = true;
    return t;
}();

void append_encoded(std::string& out, std::string_view text, bool space_as_plus)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    const char* p = text.data();
    const char* const end = p + text.size();
    while (p != end) {
        const char* literal = p;
        while (p != end && unreserved_table[static_cast<unsigned char>(*p)])
            ++p;
        out.append(literal, p);
        if (p == end)
            break;
        const auto c = static_cast<unsigned char>(*p++);
        if (c == ' ' && space_as_plus) {
            out.push_back('+');
        } else {
            const char escaped[3] = {'%', hex[c >> 4], hex[c & 15]};
            out.append(escaped, 3);
        }
    }
}

std::string decode_component(std::string_view text, bool space_as_plus)
{
    auto pct = urls::make_pct_string_view(text);
    if (!pct) {
        std::string literal(text);
        if (space_as_plus)
            for (auto& c : literal)
                if (c == '+')
                    c = ' ';
        return literal;
    }
    urls::encoding_opts opt;
    opt.space_as_plus = space_as_plus;
    return pct->decode(opt);
}

} // namespace

form& form::add(std::string_view key, std::string_view value)
{
    fields_.emplace_back(std::string(key), std::string(value));
    return *this;
}

std::string form::encode() const
{
    std::string out;
    std::size_t estimate = 0;
    for (const auto& [k, v] : fields_)
        estimate += k.size() + v.size() + 2;
    out.reserve(estimate + estimate / 4);
    for (const auto& [k, v] : fields_) {
        if (!out.empty())
            out.push_back('&');
        append_encoded(out, k, true);
        out.push_back('=');
        append_encoded(out, v, true);
    }
    return out;
}

form form::decode(std::string_view text)
{
    form f;
    while (!text.empty()) {
        auto amp = text.find('&');
        std::string_view pair = text.substr(0, amp);
        text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
        if (pair.empty())
            continue;
        auto eq = pair.find('=');
        std::string_view key = pair.substr(0, eq);
        std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        f.fields_.emplace_back(decode_component(key, true), decode_component(value, true));
    }
    return f;
}

const std::string* form::find(std::string_view key) const noexcept
{
    for (const auto& [k, v] : fields_)
        if (k == key)
            return &v;
    return nullptr;
}

error_code append_encoded_segment(std::string& path, std::string_view segment)
{
    if (segment.empty() || segment == "." || segment == "..")
        return make_error_code(errc::invalid_argument);
    append_encoded(path, segment, false);
    return {};
}

error_code append_path_segment(urls::url& url, std::string_view segment)
{
    std::string path(url.encoded_path());
    if (path.empty() || path.back() != '/')
        path.push_back('/');
    if (auto ec = append_encoded_segment(path, segment))
        return ec;
    url.set_encoded_path(path);
    return {};
}

urls::url join(const urls::url_view& base, std::string_view relative_path)
{
    while (!relative_path.empty() && relative_path.front() == '/')
        relative_path.remove_prefix(1);
    urls::url u(base);
    std::string path(u.encoded_path());
    if (path.empty() || path.back() != '/')
        path.push_back('/');
    path.append(relative_path);
    u.set_encoded_path(path);
    return u;
}

std::string origin_of(const urls::url_view& url)
{
    const auto pieces = detail::origin_pieces(url);
    std::string o;
    o.reserve(pieces[0].size() + pieces[1].size() + pieces[2].size() + pieces[3].size());
    for (const auto piece : pieces)
        o.append(piece);
    return o;
}

std::string redact_url(const urls::url_view& url)
{
    std::string s;
    s.reserve(url.scheme().size() + 3 + url.encoded_host_and_port().size() + url.encoded_path().size());
    if (url.has_scheme()) {
        s.append(url.scheme());
        s.append("://");
    }
    s.append(url.encoded_host_and_port());
    s.append(url.encoded_path());
    return s;
}

} // namespace fedora::http
