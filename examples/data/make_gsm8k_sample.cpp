// Writes a small GSM8K-shaped data set of invented grade-school word problems: JSON Lines
// records {"question": ..., "answer": ...} whose answer is a worked solution with calculator
// annotations <<a*b=c>> and a last line "#### <answer>", the layout of the released GSM8K
// files (Cobbe et al., arXiv 2110.14168). Ten templates, names and numbers drawn from Philox,
// so the same seed writes the same files on every machine; no two problems, in either
// split, are one template with the same numbers. Nothing is taken from GSM8K itself.
//
//     rlft_make_gsm8k_sample <output directory> [seed]
//
// writes gsm8k_sample_train.jsonl (36 problems) and gsm8k_sample_test.jsonl (12); the copies
// in examples/data are this program's output for the default seed, 7.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <rlft/core/philox.hpp>
#include <rlft/io/atomic_file.hpp>

namespace {

struct word_problem {
  std::string question;
  std::string answer;  // the worked solution, ending in "#### <answer>"
};

template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream text;
  (text << ... << parts);
  return text.str();
}

// 12600 -> "12,600"
std::string with_commas(long long value) {
  const std::string digits = std::to_string(value < 0 ? -value : value);
  std::string grouped = value < 0 ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return grouped;
}

class random_draws {
 public:
  random_draws(std::uint64_t seed, std::uint64_t stream, std::uint32_t attempt) : random_(seed, stream, attempt) {}

  // Uniform in [low, high]; the ranges here are tiny, so the modulo bias is negligible.
  long long between(long long low, long long high) {
    return low + static_cast<long long>(random_() % static_cast<std::uint32_t>(high - low + 1));
  }

  template <class T, std::size_t N>
  const T& one_of(const T (&choices)[N]) {
    return choices[random_() % N];
  }

 private:
  rlft::philox_stream random_;
};

constexpr const char* names[] = {"Ava",   "Ben",  "Chloe", "Diego", "Emma", "Farid", "Grace", "Hiro", "Imani", "Jonas",
                                 "Keira", "Liam", "Mei",   "Noah",  "Olga", "Priya", "Quinn", "Rosa", "Sami",  "Tomas"};

word_problem change_from_a_bill(random_draws& draw) {
  const char* name = draw.one_of(names);
  constexpr const char* items[] = {"pencils", "stickers", "markers", "notebooks", "juice boxes", "seed packets"};
  const char* item = draw.one_of(items);
  const long long packs = draw.between(2, 9), price = draw.between(2, 12), cost = packs * price;
  const long long bill = cost < 20 ? 20 : cost < 50 ? 50 : 100;
  return {concat(name, " buys ", packs, " packs of ", item, ". Each pack costs $", price, ". ", name, " pays with a $",
                 bill, " bill. How much change does ", name, " get back?"),
          concat("The packs cost ", packs, " * $", price, " = $<<", packs, "*", price, "=", cost, ">>", cost, ".\n",
                 name, " gets back $", bill, " - $", cost, " = $<<", bill, "-", cost, "=", bill - cost, ">>",
                 bill - cost, ".\n#### ", bill - cost)};
}

word_problem sharing_cookies(random_draws& draw) {
  const char* name = draw.one_of(names);
  const long long friends = draw.between(3, 8), each = draw.between(2, 9), kept = draw.between(1, 6);
  const long long baked = kept + friends * each, shared = friends * each;
  return {concat(name, " baked ", baked, " cookies, kept ", kept, " of them and shared the rest equally among ",
                 friends, " friends. How many cookies did each friend get?"),
          concat(name, " shared ", baked, " - ", kept, " = <<", baked, "-", kept, "=", shared, ">>", shared,
                 " cookies.\nEach friend got ", shared, " / ", friends, " = <<", shared, "/", friends, "=", each, ">>",
                 each, " cookies.\n#### ", each)};
}

word_problem train_journey(random_draws& draw) {
  const long long speed1 = 10 * draw.between(3, 9), hours1 = draw.between(2, 5);
  const long long speed2 = 10 * draw.between(3, 9), hours2 = draw.between(2, 5);
  const long long leg1 = speed1 * hours1, leg2 = speed2 * hours2;
  return {concat("A train travels at ", speed1, " miles per hour for ", hours1, " hours, then at ", speed2,
                 " miles per hour for ", hours2, " hours. How many miles does it travel in all?"),
          concat("First it travels ", speed1, " * ", hours1, " = <<", speed1, "*", hours1, "=", leg1, ">>", leg1,
                 " miles.\nThen it travels ", speed2, " * ", hours2, " = <<", speed2, "*", hours2, "=", leg2, ">>",
                 leg2, " miles.\nIn all it travels ", leg1, " + ", leg2, " = <<", leg1, "+", leg2, "=", leg1 + leg2,
                 ">>", leg1 + leg2, " miles.\n#### ", leg1 + leg2)};
}

word_problem saving_for_a_bike(random_draws& draw) {
  const char* name = draw.one_of(names);
  const long long weekly = draw.between(4, 15), weeks = draw.between(3, 12), saved = draw.between(10, 60);
  const long long price = saved + weekly * weeks, missing = weekly * weeks;
  return {concat(name, " wants a bike that costs $", price, " and has already saved $", saved, ". If ", name,
                 " saves $", weekly, " every week, how many weeks will it take to have enough?"),
          concat(name, " still needs $", price, " - $", saved, " = $<<", price, "-", saved, "=", missing, ">>", missing,
                 ".\nThat takes ", missing, " / ", weekly, " = <<", missing, "/", weekly, "=", weeks, ">>", weeks,
                 " weeks.\n#### ", weeks)};
}

word_problem pages_left(random_draws& draw) {
  const char* name = draw.one_of(names);
  const long long monday = draw.between(8, 30), tuesday = 2 * monday, read = monday + tuesday;
  const long long pages = read + draw.between(10, 150), left = pages - read;
  return {concat(name, " is reading a ", pages, "-page book. ", name, " read ", monday,
                 " pages on Monday and twice as many on Tuesday. How many pages are left to read?"),
          concat("On Tuesday ", name, " read 2 * ", monday, " = <<2*", monday, "=", tuesday, ">>", tuesday,
                 " pages.\nSo far ", name, " has read ", monday, " + ", tuesday, " = <<", monday, "+", tuesday, "=",
                 read, ">>", read, " pages.\nThere are ", pages, " - ", read, " = <<", pages, "-", read, "=", left,
                 ">>", left, " pages left.\n#### ", left)};
}

word_problem boxes_of_tomatoes(random_draws& draw) {
  const char* name = draw.one_of(names);
  const long long rows = draw.between(2, 6), per_row = draw.between(3, 12), per_plant = draw.between(2, 6);
  const long long plants = rows * per_row, total = plants * per_plant;
  // A box size that divides the harvest: one always lies in [4, 12] (a factor there, or the
  // product of two factors from {2, 3}).
  std::vector<long long> sizes;
  for (long long size = 4; size <= 12; ++size)
    if (total % size == 0) sizes.push_back(size);
  const long long box = sizes[static_cast<std::size_t>(draw.between(0, static_cast<long long>(sizes.size()) - 1))];
  const long long boxes = total / box;
  return {concat(name, "'s garden has ", rows, " rows of ", per_row, " tomato plants, and each plant gives ", per_plant,
                 " tomatoes. ", name, " packs the tomatoes in boxes of ", box, ". How many boxes can ", name, " fill?"),
          concat("There are ", rows, " * ", per_row, " = <<", rows, "*", per_row, "=", plants, ">>", plants,
                 " plants.\nThey give ", plants, " * ", per_plant, " = <<", plants, "*", per_plant, "=", total, ">>",
                 total, " tomatoes.\nThat fills ", total, " / ", box, " = <<", total, "/", box, "=", boxes, ">>", boxes,
                 " boxes.\n#### ", boxes)};
}

word_problem ages_later(random_draws& draw) {
  const char* name = draw.one_of(names);
  const long long age = draw.between(5, 14), gap = draw.between(2, 9), years = draw.between(2, 10);
  const long long brother = age + gap, later = age + years + brother + years;
  return {concat(name, " is ", age, " years old, and ", name, "'s brother is ", gap,
                 " years older. What will be the sum ", "of their ages in ", years, " years?"),
          concat("The brother is ", age, " + ", gap, " = <<", age, "+", gap, "=", brother, ">>", brother,
                 " years old.\nIn ", years, " years they will be ", age + years, " and ", brother + years,
                 " years old.\nThe sum is ", age + years, " + ", brother + years, " = <<", age + years, "+",
                 brother + years, "=", later, ">>", later, ".\n#### ", later)};
}

word_problem sale_price(random_draws& draw) {
  constexpr const char* things[] = {"jacket", "lamp", "backpack", "board game", "pair of boots"};
  constexpr long long percents[] = {10, 20, 25, 50};
  const char* thing = draw.one_of(things);
  const long long price = 20 * draw.between(2, 12), percent = draw.one_of(percents);
  const long long discount = price * percent / 100;
  return {concat("A ", thing, " costs $", price, ". It is on sale for ", percent, "% off. How many dollars does the ",
                 thing, " cost on sale?"),
          concat("The discount is ", price, " * ", percent, " / 100 = $<<", price, "*", percent, "/100=", discount,
                 ">>", discount, ".\nThe sale price is ", price, " - ", discount, " = $<<", price, "-", discount, "=",
                 price - discount, ">>", price - discount, ".\n#### ", price - discount)};
}

// Answers below zero, which a reader must keep the sign of.
word_problem falling_temperature(random_draws& draw) {
  constexpr const char* towns[] = {"Brightwater", "Elmstead", "Northfield", "Redcliff", "Stonebridge"};
  const char* town = draw.one_of(towns);
  long long noon = draw.between(-5, 12);
  if (noon == 1 || noon == -1) noon *= 3;  // "1 degrees" reads wrong
  const long long evening = draw.between(4, 10), night = draw.between(3, 9);
  const long long after_evening = noon - evening, midnight = after_evening - night;
  return {concat("At noon it was ", noon, " degrees in ", town, ". By evening the temperature fell ", evening,
                 " degrees, and by midnight it fell another ", night,
                 " degrees. What was the temperature at midnight, in degrees?"),
          concat("In the evening it was ", noon, " - ", evening, " = <<", noon, "-", evening, "=", after_evening, ">>",
                 after_evening, " degrees.\nAt midnight it was ", after_evening, " - ", night, " = <<", after_evening,
                 "-", night, "=", midnight, ">>", midnight, " degrees.\n#### ", midnight)};
}

// Answers in the thousands, written with grouping commas, as some solutions are.
word_problem factory_output(random_draws& draw) {
  constexpr const char* products[] = {"bottles", "bricks", "buttons", "candles", "tiles"};
  const char* product = draw.one_of(products);
  const long long per_day = 50 * draw.between(12, 60), days = draw.between(3, 14), total = per_day * days;
  return {concat("A factory makes ", with_commas(per_day), " ", product, " a day. How many ", product,
                 " does it make in ", days, " days?"),
          concat("It makes ", per_day, " * ", days, " = <<", per_day, "*", days, "=", total, ">>", total, " ", product,
                 ".\n#### ", with_commas(total))};
}

constexpr word_problem (*templates[])(random_draws&) = {
    change_from_a_bill, sharing_cookies, train_journey, saving_for_a_bike,   pages_left,
    boxes_of_tomatoes,  ages_later,      sale_price,    falling_temperature, factory_output};
constexpr std::size_t template_count = sizeof(templates) / sizeof(templates[0]);

// The numbers of a question in order: two problems of one template with the same numbers
// differ only in names, and the sample should not hold such near-copies.
std::string numbers_of(const std::string& question) {
  std::string numbers;
  bool in_number = false;
  for (const char c : question) {
    const bool digit = c >= '0' && c <= '9';
    if (digit && !in_number) numbers += ' ';
    if (digit) numbers += c;
    in_number = digit;
  }
  return numbers;
}

// Problem `index` of a split: template index % 10, numbers from the stream (split, index),
// redrawn (next Philox counter) while the template and numbers repeat a problem already
// written. One JSON object per line, "question" first as in GSM8K's files.
std::string make_split(std::uint64_t seed, std::uint64_t split, std::size_t count, std::set<std::string>& written) {
  std::string lines;
  for (std::size_t index = 0; index < count; ++index) {
    const std::size_t which = (index + split) % template_count;
    for (std::uint32_t attempt = 0;; ++attempt) {
      random_draws draw(seed, (split << 32) | index, attempt);
      const word_problem problem = templates[which](draw);
      if (!written.insert(concat(which, ":", numbers_of(problem.question))).second) continue;
      lines += nlohmann::ordered_json{{"question", problem.question}, {"answer", problem.answer}}.dump() + "\n";
      break;
    }
  }
  return lines;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s <output directory> [seed]\n", argv[0]);
    return 2;
  }
  try {
    const std::filesystem::path directory = argv[1];
    const std::uint64_t seed = argc == 3 ? std::stoull(argv[2]) : 7;
    std::filesystem::create_directories(directory);
    std::set<std::string> written;
    rlft::io::write_file_atomically(directory / "gsm8k_sample_train.jsonl", make_split(seed, 0, 36, written));
    rlft::io::write_file_atomically(directory / "gsm8k_sample_test.jsonl", make_split(seed, 1, 12, written));
    std::printf("wrote 36 train and 12 test problems to %s\n", directory.string().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
