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
/// Samsa advertises only what it implements: metadata.version 3.3-IV3..4.0-IV3, group.version 0..1 (KIP-848
/// consumer groups are served), kraft.version 0 (no KIP-853 dynamic quorum) and transaction.version 0 (no
/// transactions). Kafka 4.0 also knows eligible.leader.replicas.version; Samsa has no ELR, so does not list it.
/// </remarks>
public static class FeatureControlManager
{
    public const string MetadataVersionFeature = "metadata.version";
    public const string KRaftVersionFeature = "kraft.version";
    public const string GroupVersionFeature = "group.version";
    public const string TransactionVersionFeature = "transaction.version";

    /// <summary>Supported ranges by feature name, in name order (Kafka lists a TreeMap of them).</summary>
    public static readonly IReadOnlyList<KeyValuePair<string, FeatureRange>> Supported =
    [
        new(GroupVersionFeature, new FeatureRange(0, 1)),
        new(KRaftVersionFeature, new FeatureRange(0, 0)),
        new(MetadataVersionFeature, new FeatureRange(MetadataVersions.Minimum, MetadataVersions.LatestProduction)),
        new(TransactionVersionFeature, new FeatureRange(0, 0)),
    ];

    public static FeatureRange? SupportedRange(string feature) =>
        Supported.FirstOrDefault(s => s.Key == feature) is { Key: not null } found ? found.Value : null;

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
    /// UpdateFeatures, all or nothing as Kafka 4.0: the first invalid update fails the request and nothing is
    /// written; validate_only checks everything and writes nothing. Errors are INVALID_UPDATE_VERSION with
    /// Kafka's messages.
    /// </summary>
    public static ControllerResult<ApiError> Update(MetadataImage image, IReadOnlyList<FeatureUpdate> updates, bool validateOnly, int nodeId)
    {
        var proposed = new Dictionary<string, short>(image.Features);
        var records = new List<MetadataRecord>();
        foreach (var update in updates)
        {
            var error = update.Feature == MetadataVersionFeature
                ? CheckMetadataVersion(image, update, nodeId)
                : CheckFeature(image, update, nodeId);
            if (error is not null)
            {
                return new ControllerResult<ApiError>([], error.Value);
            }
            proposed[update.Feature] = update.Level;
            records.Add(MetadataRecord.Of(new FeatureLevelRecord { Name = update.Feature, FeatureLevel = update.Level }));
        }
        // Dependencies are checked against the levels after every update of the request, as Kafka does.
        foreach (var update in updates)
        {
            foreach (var (dependency, needed) in Dependencies(update.Feature, update.Level))
            {
                var have = proposed.GetValueOrDefault(dependency);
                if (have < needed)
                {
                    return new ControllerResult<ApiError>([], InvalidUpdateVersion(update.Feature, update.Level,
                        $"{update.Feature} level {update.Level} requires {dependency} level {needed}, but the finalized level is {have}."));
                }
            }
        }
        return new ControllerResult<ApiError>(validateOnly ? [] : records, ApiError.None);
    }

    private static ApiError? CheckFeature(MetadataImage image, FeatureUpdate update, int nodeId)
    {
        if (update.UpgradeType == FeatureUpgradeType.Unknown)
        {
            return InvalidUpdateVersion(update.Feature, update.Level, "The controller does not support the given upgrade type.");
        }
        if (update.Level < 0)
        {
            return InvalidUpdateVersion(update.Feature, update.Level, "A feature version cannot be less than 0.");
        }
        if (NotSupported(update.Feature, update.Level, nodeId) is { } reason)
        {
            return InvalidUpdateVersion(update.Feature, update.Level, reason);
        }
        var current = image.Features.GetValueOrDefault(update.Feature);
        if (update.Level < current && update.UpgradeType == FeatureUpgradeType.Upgrade)
        {
            return InvalidUpdateVersion(update.Feature, update.Level,
                "Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.");
        }
        return null;
    }

    private static ApiError? CheckMetadataVersion(MetadataImage image, FeatureUpdate update, int nodeId)
    {
        if (update.UpgradeType == FeatureUpgradeType.Unknown)
        {
            return InvalidMetadataVersion(update.Level, "Unknown upgrade type.");
        }
        if (update.Level < MetadataVersions.Minimum)
        {
            return InvalidMetadataVersion(update.Level, $"The minimum supported metadata.version is {MetadataVersions.Name(MetadataVersions.Minimum)}.");
        }
        if (NotSupported(update.Feature, update.Level, nodeId) is { } reason)
        {
            return InvalidMetadataVersion(update.Level, reason);
        }
        var current = image.Features.GetValueOrDefault(MetadataVersionFeature, MetadataVersions.Minimum);
        if (update.Level < current)
        {
            if (update.UpgradeType == FeatureUpgradeType.Upgrade)
            {
                return InvalidMetadataVersion(update.Level,
                    "Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.");
            }
            if (update.UpgradeType == FeatureUpgradeType.UnsafeDowngrade)
            {
                return InvalidMetadataVersion(update.Level, "Unsafe metadata downgrade is not supported in this version.");
            }
            // A safe downgrade may not cross a version that changed the metadata format (KIP-778).
            if (MetadataVersions.MetadataChangedBetween(update.Level, current))
            {
                return InvalidMetadataVersion(update.Level, "Refusing to perform the requested downgrade because it might delete metadata information.");
            }
        }
        return null;
    }

    /// <summary>Kafka's <c>QuorumFeatures.reasonNotSupported</c>, for the only controller (and broker) there is.</summary>
    private static string? NotSupported(string feature, short level, int nodeId)
    {
        var range = SupportedRange(feature);
        if (range is { } r && r.Contains(level))
        {
            return null;
        }
        return range is null || range.Value.Max == 0
            ? $"Local controller {nodeId} does not support this feature."
            : $"Local controller {nodeId} only supports versions [{range.Value.Min}, {range.Value.Max}]";
    }

    private static ApiError InvalidUpdateVersion(string feature, short level, string message) =>
        new(ErrorCode.InvalidUpdateVersion, $"Invalid update version {level} for feature {feature}. {message}");

    private static ApiError InvalidMetadataVersion(short level, string message) =>
        new(ErrorCode.InvalidUpdateVersion, $"Invalid metadata.version {level}. {message}");
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
