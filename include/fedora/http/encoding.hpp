// URL and form encoding helpers, on Boost.URL. Nothing here is hand-rolled
// percent-encoding: the operations build every request with these.
#pragma once

#include <fedora/error.hpp>

#include <boost/url/url.hpp>
#include <boost/url/url_view.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fedora::http {

// An application/x-www-form-urlencoded body. Repeated keys express lists, as python-requests
// sends them. Values are arbitrary bytes; they arrive intact.
class form
{
public:
    form& add(std::string_view key, std::string_view value);
    const std::vector<std::pair<std::string, std::string>>& fields() const noexcept { return fields_; }
    bool empty() const noexcept { return fields_.empty(); }
    std::string encode() const;
    // Parses a body (or a query string); malformed escapes are kept literally.
    static form decode(std::string_view text);
    // First value of key, or nullptr.
    const std::string* find(std::string_view key) const noexcept;

private:
    std::vector<std::pair<std::string, std::string>> fields_;
};

// Appends `segment` to the URL's path as exactly one segment: everything but unreserved
// characters is percent-encoded ('/', '?', '#', '%', CR, LF, NUL included). "", "." and ".."
// are refused with errc::invalid_argument (the URL is left unchanged): RFC 3986 makes
// "%2E%2E" equivalent to "..", so no encoding keeps them from climbing out of the base path.
error_code append_path_segment(boost::urls::url& url, std::string_view segment);

// The string form of append_path_segment, for a path being built as text: appends
// `segment` encoded the same way, and refuses "", "." and ".." the same way (the path is
// left unchanged).
[[nodiscard]] error_code append_encoded_segment(std::string& path, std::string_view segment);

// Joins a base URL ("https://host/accounts/") and a relative path of literal,
// already-safe segments ("json/person_by_id").
boost::urls::url join(const boost::urls::url_view& base, std::string_view relative_path);

// "https://host:port": the key the pool uses, and what redirect rules compare.
std::string origin_of(const boost::urls::url_view& url);

// scheme://host:port/path, without user info or query: safe for messages and logs.
std::string redact_url(const boost::urls::url_view& url);

} // namespace fedora::http
