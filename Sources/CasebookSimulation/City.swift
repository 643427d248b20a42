import CasebookLog

/// One government department (职能部门) of the synthetic city.
public struct Department: Sendable, Hashable {
    /// Short Chinese name, also the id of the department's actor, e.g. `民政局`.
    public var short: String
    /// Chinese name with an English gloss, as written into case data, e.g. `民政局 Civil affairs`.
    public var name: String
}

/// The departments, in the order `CityConfiguration.departments` takes them: the ones that push most work
/// into communities first (DOMAIN.md §2–4 and the seeds name civil affairs, human resources and social
/// security, health, police, housing, statistics, market regulation, urban management …).
let departmentCatalogue: [Department] = [
    ("民政局", "Civil affairs"), ("人社局", "Human resources & social security"), ("卫健委", "Health"),
    ("公安分局", "Police"), ("住建局", "Housing"), ("统计局", "Statistics"), ("市场监管局", "Market regulation"),
    ("城管局", "Urban management"), ("生态环境局", "Ecology & environment"), ("应急管理局", "Emergency management"),
    ("残联", "Disabled persons' federation"), ("团委", "Youth league"), ("妇联", "Women's federation"),
    ("司法局", "Justice"), ("教育局", "Education"), ("文旅局", "Culture & tourism"), ("退役军人事务局", "Veterans affairs"),
    ("医保局", "Healthcare security"), ("财政局", "Finance"), ("自然资源局", "Natural resources"),
    ("农业农村局", "Agriculture & rural affairs"), ("商务局", "Commerce"), ("税务局", "Taxation"), ("总工会", "Trade union"),
    ("科协", "Science & technology association"), ("体育局", "Sports"), ("档案局", "Archives"), ("消防救援大队", "Fire & rescue"),
].map { Department(short: $0.0, name: "\($0.0) \($0.1)") }

/// A patch (片区) of 300–500 households with its named leader, the first responsible person (DOMAIN.md §1).
struct Patch: Sendable {
    var id: String
    var name: String
    var leader: String
}

/// One community (社区) of the synthetic city: its hall's counter staff, back office and patches.
struct Community: Sendable {
    /// Short id used in case ids, e.g. `c007`.
    var id: String
    /// Chinese name, unique in the city, e.g. `新河东社区`.
    var name: String
    /// The street office (街道) above it.
    var street: String
    var households: Int
    var patches: [Patch]
    var counterStaff: [String]
    var backOffice: [String]
    /// The workstation head (站长), the `supervisor` of resident requests.
    var head: String

    /// Builds community number `index` (0-based) from the seed.
    init(index: Int, seed: UInt64, patchesPerCommunity: ClosedRange<Int>) {
        var rng = SplitMix64(seed: seed, name: "community-\(index)")
        id = Community.id(index)
        let prefix = communityPrefixes[index % communityPrefixes.count]
        let round = index / communityPrefixes.count
        let variant = round < communityVariants.count ? communityVariants[round] : "\(round)"
        name = prefix + variant + "社区"
        street = streetNames[(index / 9) % streetNames.count] + (index / 9 >= streetNames.count ? "\(index / 9 / streetNames.count + 1)" : "") + "街道"
        households = rng.int(2_000...8_000)
        var names = Set<String>()
        func person() -> String {
            while true {
                let n = personName(&rng)
                if names.insert(n).inserted { return n }
            }
        }
        let patchCount = rng.int(patchesPerCommunity)
        patches = (1...patchCount).map { k in
            Patch(id: "\(Community.id(index))-p\(k)", name: "第\(chineseNumeral(k))片区", leader: person())
        }
        counterStaff = (0..<rng.int(3...6)).map { _ in person() }
        backOffice = (0..<rng.int(2...3)).map { _ in person() }
        head = person()
    }

    static func id(_ index: Int) -> String {
        let digits = String(index + 1)
        return "c" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }
}

private let communityPrefixes = [
    "和平", "新河", "东湖", "南苑", "翠柏", "明珠", "海曙", "江东", "梅园", "兴宁", "白云", "幸福", "春晖", "锦绣", "长丰",
    "文昌", "青林", "金桥", "望春", "丽园", "月湖", "天一", "鼓楼", "孝闻", "西门", "段塘", "石碶", "横石", "百丈", "明楼",
    "福明", "新城", "东柳", "潘火", "中河", "庄桥", "甬江", "梅墟", "泗门", "柳汀",
]
private let communityVariants = ["", "东", "西", "南", "北", "新村", "花园", "一", "二", "三", "四", "五", "六", "七", "八"]
private let streetNames = [
    "月湖", "鼓楼", "南门", "江厦", "西门", "白云", "段塘", "望春", "石碶", "洪塘", "孔浦", "甬江", "庄桥", "湾头", "白鹤",
    "明楼", "百丈", "东胜", "东柳", "福明", "新明", "东郊", "潘火", "下应", "钟公庙", "首南", "中河", "梅墟", "小港", "新碶",
]

private let surnames = Array("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈任姚卢傅钟").map(String.init)
private let givenChars = Array("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国文辉玲红梅丹萍鹏飞宇浩然欣怡子涵佳琪思远俊杰晓东海燕春花志强振华").map(String.init)

/// A person's name: a surname and one or two given-name characters.
func personName(_ rng: inout SplitMix64) -> String {
    rng.pick(surnames) + rng.pick(givenChars) + (rng.chance(0.6) ? rng.pick(givenChars) : "")
}

func chineseNumeral(_ n: Int) -> String {
    let digits = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]
    if n <= 10 { return digits[n] }
    if n < 20 { return "十" + digits[n - 10] }
    return digits[n / 10] + "十" + (n % 10 == 0 ? "" : digits[n % 10])
}

/// A service item of the resident-request catalogue (服务承诺制: each item publishes its time limit).
struct ServiceItem: Sendable {
    /// The catalogue id the `receive` command takes, e.g. `residence-certificate`.
    var id: String
    /// Working days promised.
    var limitDays: Int
    /// A certificate the community may not issue (002: the must/may/may-not catalogue): refused at the counter.
    var mayNot: Bool
    /// Relative frequency among requests.
    var weight: Int
    /// The department a referral goes to.
    var department: String
    /// Whether its handling needs the patch leader (home visit / verification).
    var needsPatch: Bool
}

/// Materials a notice of missing materials lists (one notice lists all of them: 一次性告知).
let materials = [
    "户口簿 household register", "身份证复印件 copy of ID card", "近期免冠照片 recent photo", "收入证明 income statement",
    "医院诊断证明 medical diagnosis", "租赁合同 tenancy agreement", "婚姻状况证明 marital status certificate",
    "房产证复印件 copy of property certificate", "银行卡复印件 copy of bank card", "单位证明 employer's letter",
]

/// Beijing time (UTC+08:00) arithmetic for the simulated year.
enum SimTime {
    static let offsetMillis: Int64 = 8 * 3_600_000
    static let dayMillis: Int64 = 86_400_000

    /// Days since 1970-01-01 of a local (Beijing) date.
    static func day(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
        CivilDate.toDays(year: Int64(year), month: Int64(month), day: Int64(day))
    }

    /// The instant of a local day at `minute` minutes after midnight.
    static func at(_ day: Int64, minute: Int) -> Timestamp {
        Timestamp(millisecondsSince1970: day * dayMillis + Int64(minute) * 60_000 - offsetMillis)
    }

    /// The local day of an instant.
    static func day(of t: Timestamp) -> Int64 {
        Int64((Double(t.millisecondsSince1970 + offsetMillis) / Double(dayMillis)).rounded(.down))
    }

    /// `YYYY-MM-DD`.
    static func format(day: Int64) -> String {
        let (y, m, d) = CivilDate.fromDays(day)
        return "\(y)-\(pad(m))-\(pad(d))"
    }

    /// ISO 8601 in Beijing time, e.g. `2026-03-06T19:00:00+08:00`.
    static func iso(_ day: Int64, minute: Int) -> String {
        "\(format(day: day))T\(pad(Int64(minute / 60))):\(pad(Int64(minute % 60))):00+08:00"
    }

    /// 1 = Monday … 7 = Sunday (1970-01-01 was a Thursday).
    static func weekday(_ day: Int64) -> Int { Int(((day + 3) % 7 + 7) % 7) + 1 }

    private static func pad(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
}
