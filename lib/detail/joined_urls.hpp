// Private: a client's base URL joined with operation paths, each path joined once. Joining
// parses and validates a URL (about 5k instructions); the FAS and Bodhi clients send the
// same few dozen paths over and over. Paths with caller-given segments (group names,
// update aliases) are cached too, up to a bound, then joined each time.
#pragma once

#include <fedora/http/encoding.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <cstddef>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fedora::detail {

// A client's base URL from its configuration: absolute http(s), without query or fragment,
// ending with '/'. Otherwise std::invalid_argument("<client>: base_url must be ...").
inline boost::urls::url base_url_of(std::string_view text, std::string_view client)
{
    auto parsed = boost::urls::parse_absolute_uri(text);
    if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") || parsed->host().empty())
        throw std::invalid_argument(std::string(client) + ": base_url must be an absolute http(s) URL");
    boost::urls::url base = *parsed;
    base.remove_query();
    base.remove_fragment();
    if (base.encoded_path().empty() || base.encoded_path().back() != '/')
        base.set_encoded_path(std::string(base.encoded_path()) + "/");
    return base;
}

class joined_urls
{
public:
    // `base` must end with '/'.
    explicit joined_urls(boost::urls::url base) : base_(std::move(base)) {}

    const boost::urls::url& base() const noexcept { return base_; }

    boost::urls::url join(std::string_view path) const
    {
        {
            std::lock_guard lock(mutex_);
            if (auto it = cache_.find(path); it != cache_.end())
                return it->second;
        }
        auto joined = http::join(base_, path);
        std::lock_guard lock(mutex_);
        if (cache_.size() < max_cached)
            cache_.try_emplace(std::string(path), joined);
        return joined;
    }

private:
    struct text_hash
    {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    static constexpr std::size_t max_cached = 256;

    const boost::urls::url base_;
    mutable std::mutex mutex_;
    mutable std::unordered_map<std::string, boost::urls::url, text_hash, std::equal_to<>> cache_;
};

} // namespace fedora::detail
