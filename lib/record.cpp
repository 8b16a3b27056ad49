#include "detail/record_access.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>

#include <mutex>

namespace fedora {

struct record::text_form
{
    text_form(std::string t, detail::record_access::extractor e) : text(std::move(t)), extract(e) {}

    const std::string text;
    const detail::record_access::extractor extract;
    std::once_flag parsed_once;
    boost::json::object parsed;
};

record& record::operator=(record&& other) noexcept
{
    if (this != &other) {
        std::destroy_at(&parsed_);
        std::construct_at(&parsed_, std::move(other.parsed_));
        text_ = std::move(other.text_);
    }
    return *this;
}

const boost::json::object& record::object() const
{
    if (!text_)
        return parsed_;
    // call_once: the first reader parses, concurrent readers wait for it, and a reader that
    // threw (out of memory) leaves the next one to try again.
    std::call_once(text_->parsed_once, [form = text_.get()] {
        boost::json::parse_options opt;
        opt.max_depth = 64;  // what the dump reader accepted
        auto whole = boost::json::parse(form->text, {}, opt);
        form->parsed = form->extract ? form->extract(std::move(whole)) : std::move(whole.as_object());
    });
    return text_->parsed;
}

namespace detail {

record record_access::from_text(std::string text, extractor extract)
{
    record r;
    r.text_ = std::make_shared<record::text_form>(std::move(text), extract);
    return r;
}

} // namespace detail
} // namespace fedora
