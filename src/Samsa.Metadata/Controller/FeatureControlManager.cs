using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Controller;

/// <summary>A feature's supported range, inclusive (Kafka's <c>SupportedVersionRange</c>).</summary>
public readonly record struct FeatureRange(short Min, short Max)
{
    public bool Contains(short level) => level >= Min && level <= Max;
}

/// <summary>One feature update of an UpdateFeatures request (Kafka's <c>FeatureUpdate</c>).</summary>
public readonly record struct FeatureUpdate(string Feature, short Level, FeatureUpgradeType UpgradeType);

/// <summary>UpdateFeatures' upgrade_type (KIP-778): 1 upgrade, 2 safe downgrade, 3 unsafe downgrade.</summary>
public enum FeatureUpgradeType : sbyte
{
    Unknown = 0,
    Upgrade = 1,
    SafeDowngrade = 2,
    UnsafeDowngrade = 3,
}

/// <summary>A request-level outcome: an error code and its message (Kafka's <c>ApiError</c>).</summary>
public readonly record struct ApiError(ErrorCode Error, string? Message)
{
    public static readonly ApiError None = new(ErrorCode.None, null);
}

/// <summary>
/// Finalized feature levels (KIP-584, KIP-778), as Kafka 4.0's <c>FeatureControlManager</c>: what this node
/// supports, what a freshly formatted cluster finalizes, and UpdateFeatures. Levels live only as
/// <see cref="FeatureLevelRecord"/>s in the metadata log, so a restart keeps them.
/// </summary>
/// <remarks>
/// Samsa supports only what it implements: metadata.version 3.3-IV3..4.0-IV3 and group.version 0..1 (KIP-848
/// consumer groups are served); kraft.version and transaction.version stay at 0 (no KIP-853 dynamic quorum, no
/// transactions), so, as Kafka does for a feature whose highest level is 0, they are not advertised.
/// </remarks>
public static class FeatureControlManager
{
    public const string MetadataVersionFeature = "metadata.version";
    public const string KRaftVersionFeature = "kraft.version";
    public const string GroupVersionFeature = "group.version";
    public const string TransactionVersionFeature = "transaction.version";

    /// <summary>
    /// The features Samsa knows with the levels it implements, in name order. Kafka's
    /// <c>PRODUCTION_FEATURES</c> also holds eligible.leader.replicas.version; Samsa has no ELR.
    /// </summary>
    private static readonly IReadOnlyList<KeyValuePair<string, FeatureRange>> Known =
    [
        new(GroupVersionFeature, new FeatureRange(0, 1)),
        new(KRaftVersionFeature, new FeatureRange(0, 0)),
        new(MetadataVersionFeature, new FeatureRange(MetadataVersions.Minimum, MetadataVersions.LatestProduction)),
        new(TransactionVersionFeature, new FeatureRange(0, 0)),
    ];

    /// <summary>
    /// Supported ranges, in name order, as ApiVersions advertises them: like Kafka's
    /// <c>BrokerFeatures.defaultSupportedFeatures</c>, a feature whose highest level is 0 is not listed.
    /// </summary>
    public static readonly IReadOnlyList<KeyValuePair<string, FeatureRange>> Supported = [.. Known.Where(f => f.Value.Max > 0)];

    /// <summary>The features <c>kafka-features.sh version-mapping</c> lists after metadata.version, in Kafka's enum order.</summary>
    public static readonly IReadOnlyList<string> NonMetadataFeatures = [KRaftVersionFeature, TransactionVersionFeature, GroupVersionFeature];

    /// <summary>The levels Samsa implements for a feature it knows; null for a name it does not know.</summary>
    public static FeatureRange? SupportedRange(string feature) =>
        Known.FirstOrDefault(s => s.Key == feature) is { Key: not null } found ? found.Value : null;

    /// <summary>Kafka 4.0's feature dependencies: group.version 1 needs metadata.version 4.0-IV0.</summary>
    public static IReadOnlyDictionary<string, short> Dependencies(string feature, short level) =>
        feature == GroupVersionFeature && level >= 1
            ? new Dictionary<string, short> { [MetadataVersionFeature] = MetadataVersions.Level("4.0-IV0") }
            : new Dictionary<string, short>();

    /// <summary>
    /// What <c>kafka-storage.sh format</c> finalizes in Kafka 4.0 by default: the latest production
    /// metadata.version and group.version 1. Written once, to an empty metadata log.
    /// </summary>
    public static IReadOnlyList<MetadataRecord> BootstrapRecords(MetadataImage image) =>
        image.Features.ContainsKey(MetadataVersionFeature)
            ? []
            :
            [
                MetadataRecord.Of(new FeatureLevelRecord { Name = MetadataVersionFeature, FeatureLevel = MetadataVersions.LatestProduction }),
                MetadataRecord.Of(new FeatureLevelRecord { Name = GroupVersionFeature, FeatureLevel = 1 }),
            ];

    /// <summary>
    /// UpdateFeatures as Kafka 4.0's <c>FeatureControlManager.updateFeatures</c>: each update is checked in turn
    /// against the levels the whole request proposes; the first invalid one fails the request and nothing is
    /// written; validate_only checks everything and writes nothing.
    /// </summary>
    public static ControllerResult<ApiError> Update(MetadataImage image, IReadOnlyList<FeatureUpdate> updates, bool validateOnly, int nodeId)
    {
        var proposed = new Dictionary<string, short>(image.Features);
        foreach (var update in updates)
        {
            proposed[update.Feature] = update.Level;
        }
        var records = new List<MetadataRecord>();
        foreach (var update in updates)
        {
            if (Check(image, update, proposed, nodeId) is { } error)
            {
                return new ControllerResult<ApiError>([], error);
            }
            // kraft.version is the quorum's own (KIP-853); Kafka never writes a FeatureLevelRecord for it.
            if (update.Feature != KRaftVersionFeature)
            {
                records.Add(MetadataRecord.Of(new FeatureLevelRecord { Name = update.Feature, FeatureLevel = update.Level }));
            }
        }
        return new ControllerResult<ApiError>(validateOnly ? [] : records, ApiError.None);
    }

    private static ApiError? Check(MetadataImage image, FeatureUpdate update, Dictionary<string, short> proposed, int nodeId)
    {
        var (feature, level) = (update.Feature, update.Level);
        if (update.UpgradeType == FeatureUpgradeType.Unknown)
        {
            return InvalidUpdateVersion(feature, level, "The controller does not support the given upgrade type.");
        }
        var current = image.Features.GetValueOrDefault(feature);
        if (level < 0)
        {
            return InvalidUpdateVersion(feature, level, "A feature version cannot be less than 0.");
        }
        // QuorumFeatures.reasonNotSupported: an unknown feature supports only level 0.
        var range = SupportedRange(feature) ?? new FeatureRange(0, 0);
        if (!range.Contains(level))
        {
            return InvalidUpdateVersion(feature, level, range.Max == 0
                ? $"Local controller {nodeId} does not support this feature."
                : $"Local controller {nodeId} only supports versions {VersionRangeText(range)}");
        }
        if (level < current && update.UpgradeType == FeatureUpgradeType.Upgrade)
        {
            return InvalidUpdateVersion(feature, level,
                "Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.");
        }
        if (level > current && update.UpgradeType != FeatureUpgradeType.Upgrade)
        {
            return InvalidUpdateVersion(feature, level, "Can't downgrade to a newer version.");
        }
        if (feature == MetadataVersionFeature)
        {
            // A downgrade may not cross a level that changed the metadata records (KIP-778); unsafe ones are not built.
            if (level < current && MetadataVersions.MetadataChangedBetween(level, current))
            {
                return new ApiError(ErrorCode.InvalidUpdateVersion, $"Unsupported metadata.version downgrade from {current} to {level}. " +
                    (update.UpgradeType == FeatureUpgradeType.UnsafeDowngrade
                        ? "Unsafe metadata downgrade is not supported in this version."
                        : "Refusing to perform the requested downgrade because it might delete metadata information."));
            }
            return null;
        }
        foreach (var (dependency, needed) in Dependencies(feature, level))
        {
            if (proposed.GetValueOrDefault(dependency) < needed)
            {
                return InvalidUpdateVersion(feature, level, $"{feature} could not be set to {level} because it depends on {dependency} level {needed}");
            }
        }
        return null;
    }

    /// <summary>Kafka's <c>VersionRange.toString</c>: "0-1", or "3" when min and max are equal.</summary>
    private static string VersionRangeText(FeatureRange range) => range.Min == range.Max ? $"{range.Min}" : $"{range.Min}-{range.Max}";

    private static ApiError InvalidUpdateVersion(string feature, short level, string message) =>
        new(ErrorCode.InvalidUpdateVersion, $"Invalid update version {level} for feature {feature}. {message}");
}

/// <summary>
/// Kafka 4.0's <c>MetadataVersion</c> table from the oldest level it still supports (3.3-IV3 = 7) to its latest
/// production level (4.0-IV3 = 25): feature level, release, and whether the level changed the metadata records
/// (a safe downgrade may not cross such a level).
/// </summary>
public static class MetadataVersions
{
    private static readonly (short Level, string Release, string Iv, bool MetadataChanged)[] Table =
    [
        (7, "3.3", "IV3", true),
        (8, "3.4", "IV0", true),
        (9, "3.5", "IV0", false),
        (10, "3.5", "IV1", true),
        (11, "3.5", "IV2", true),
        (12, "3.6", "IV0", false),
        (13, "3.6", "IV1", false),
        (14, "3.6", "IV2", true),
        (15, "3.7", "IV0", true),
        (16, "3.7", "IV1", false),
        (17, "3.7", "IV2", true),
        (18, "3.7", "IV3", false),
        (19, "3.7", "IV4", false),
        (20, "3.8", "IV0", true),
        (21, "3.9", "IV0", false),
        (22, "4.0", "IV0", true),
        (23, "4.0", "IV1", true),
        (24, "4.0", "IV2", false),
        (25, "4.0", "IV3", false),
    ];

    public static short Minimum => Table[0].Level;

    public static short LatestProduction => Table[^1].Level;

    /// <summary>All levels, oldest first, as (level, "3.3-IV3", "3.3").</summary>
    public static IEnumerable<(short Level, string Name, string Release)> All => Table.Select(t => (t.Level, $"{t.Release}-{t.Iv}", t.Release));

    /// <summary>"4.0-IV3" for 25; the bare number for a level outside the table.</summary>
    public static string Name(short level) =>
        Table.FirstOrDefault(t => t.Level == level) is { Release: not null } t ? $"{t.Release}-{t.Iv}" : level.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Kafka's <c>MetadataVersion.fromVersionString</c>: "4.0-IV3", or a release "4.0" meaning its latest level.
    /// Null when unknown.
    /// </summary>
    public static short? TryParse(string text)
    {
        foreach (var t in Table.Reverse())
        {
            if (text == $"{t.Release}-{t.Iv}" || text == t.Release)
            {
                return t.Level;
            }
        }
        return null;
    }

    public static short Level(string name) => TryParse(name) ?? throw new ArgumentException($"Unknown metadata.version {name}", nameof(name));

    /// <summary>Kafka's <c>checkIfMetadataChanged</c>: does any level in (lower, higher] change the metadata?</summary>
    public static bool MetadataChangedBetween(short lower, short higher) =>
        Table.Any(t => t.Level > lower && t.Level <= higher && t.MetadataChanged);
}
