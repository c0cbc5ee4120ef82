using System.Collections.Immutable;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Tests;

/// <summary>UpdateFeatures decisions (Kafka 4.0's FeatureControlManager) on an image, without a log.</summary>
public class FeatureControlManagerTests
{
    private static MetadataImage Formatted() => MetadataImage.Empty("c") with
    {
        Features = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, new Dictionary<string, short>
        {
            ["metadata.version"] = 25,
            ["group.version"] = 1,
        }),
    };

    private static ControllerResult<ApiError> Update(MetadataImage image, bool validateOnly, params FeatureUpdate[] updates) =>
        FeatureControlManager.Update(image, updates, validateOnly, nodeId: 1);

    private static FeatureLevelRecord Record(ControllerResult<ApiError> result, int index) =>
        Assert.IsType<FeatureLevelRecord>(result.Records[index].Message);

    [Fact]
    public void Bootstrap_OnAnEmptyLog_FinalizesKafka40Defaults_AndNothingOnceFormatted()
    {
        var records = FeatureControlManager.BootstrapRecords(MetadataImage.Empty("c"));
        Assert.Equal([("metadata.version", (short)25), ("group.version", (short)1)],
            records.Select(r => Assert.IsType<FeatureLevelRecord>(r.Message)).Select(r => (r.Name, r.FeatureLevel)));
        Assert.Empty(FeatureControlManager.BootstrapRecords(Formatted()));
    }

    [Fact]
    public void SafeDowngradeOfGroupVersion_WritesTheLevel_ValidateOnlyWritesNothing()
    {
        var done = Update(Formatted(), false, new FeatureUpdate("group.version", 0, FeatureUpgradeType.SafeDowngrade));
        Assert.Equal(ApiError.None, done.Response);
        Assert.Equal(("group.version", (short)0), (Record(done, 0).Name, Record(done, 0).FeatureLevel));

        var dryRun = Update(Formatted(), true, new FeatureUpdate("group.version", 0, FeatureUpgradeType.SafeDowngrade));
        Assert.Equal(ApiError.None, dryRun.Response);
        Assert.Empty(dryRun.Records);
    }

    [Theory]
    [InlineData("group.version", 2, FeatureUpgradeType.Upgrade, "Invalid update version 2 for feature group.version. Local controller 1 only supports versions 0-1")]
    [InlineData("group.version", 0, FeatureUpgradeType.Upgrade, "Invalid update version 0 for feature group.version. Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.")]
    [InlineData("group.version", -1, FeatureUpgradeType.SafeDowngrade, "Invalid update version -1 for feature group.version. A feature version cannot be less than 0.")]
    [InlineData("group.version", 1, FeatureUpgradeType.Unknown, "Invalid update version 1 for feature group.version. The controller does not support the given upgrade type.")]
    [InlineData("transaction.version", 1, FeatureUpgradeType.Upgrade, "Invalid update version 1 for feature transaction.version. Local controller 1 does not support this feature.")]
    [InlineData("transaction.version", 0, FeatureUpgradeType.SafeDowngrade, null)]
    [InlineData("no.such.feature", 1, FeatureUpgradeType.Upgrade, "Invalid update version 1 for feature no.such.feature. Local controller 1 does not support this feature.")]
    [InlineData("metadata.version", 26, FeatureUpgradeType.Upgrade, "Invalid update version 26 for feature metadata.version. Local controller 1 only supports versions 7-25")]
    [InlineData("metadata.version", 6, FeatureUpgradeType.SafeDowngrade, "Invalid update version 6 for feature metadata.version. Local controller 1 only supports versions 7-25")]
    [InlineData("metadata.version", 24, FeatureUpgradeType.Upgrade, "Invalid update version 24 for feature metadata.version. Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.")]
    [InlineData("metadata.version", 21, FeatureUpgradeType.UnsafeDowngrade, "Unsupported metadata.version downgrade from 25 to 21. Unsafe metadata downgrade is not supported in this version.")]
    [InlineData("metadata.version", 21, FeatureUpgradeType.SafeDowngrade, "Unsupported metadata.version downgrade from 25 to 21. Refusing to perform the requested downgrade because it might delete metadata information.")]
    public void InvalidUpdates_FailWithInvalidUpdateVersion_AndWriteNothing(string feature, short level, FeatureUpgradeType type, string? message)
    {
        var result = Update(Formatted(), false, new FeatureUpdate(feature, level, type));
        if (message is null)
        {
            // Level 0 of a feature this node does not support is where it already is.
            Assert.Equal(ApiError.None, result.Response);
            return;
        }
        Assert.Equal(new ApiError(ErrorCode.InvalidUpdateVersion, message), result.Response);
        Assert.Empty(result.Records);
    }

    [Fact]
    public void ADowngradeToAHigherLevel_IsRefused()
    {
        var result = Update(Formatted(), false, new FeatureUpdate("metadata.version", 25, FeatureUpgradeType.SafeDowngrade));
        Assert.Equal(ApiError.None, result.Response);
        var higher = Update(Formatted() with { Features = Formatted().Features.Remove("group.version") }, false,
            new FeatureUpdate("group.version", 1, FeatureUpgradeType.SafeDowngrade));
        Assert.Equal(new ApiError(ErrorCode.InvalidUpdateVersion, "Invalid update version 1 for feature group.version. Can't downgrade to a newer version."), higher.Response);
    }

    [Fact]
    public void KRaftVersion_AtItsLevel_IsAcceptedWithoutARecord()
    {
        var result = Update(Formatted(), false, new FeatureUpdate("kraft.version", 0, FeatureUpgradeType.Upgrade));
        Assert.Equal(ApiError.None, result.Response);
        Assert.Empty(result.Records);
    }

    [Fact]
    public void SafeMetadataDowngrade_ThatChangesNoMetadata_IsAllowed()
    {
        // 4.0-IV3 -> 4.0-IV2 crosses only 4.0-IV3, which did not change the metadata records.
        var result = Update(Formatted(), false, new FeatureUpdate("metadata.version", 24, FeatureUpgradeType.SafeDowngrade));
        Assert.Equal(ApiError.None, result.Response);
        Assert.Equal((short)24, Record(result, 0).FeatureLevel);
    }

    [Fact]
    public void OneInvalidUpdate_FailsTheWholeRequest()
    {
        var result = Update(Formatted(), false,
            new FeatureUpdate("group.version", 0, FeatureUpgradeType.SafeDowngrade),
            new FeatureUpdate("group.version2", 1, FeatureUpgradeType.Upgrade));
        Assert.Equal(ErrorCode.InvalidUpdateVersion, result.Response.Error);
        Assert.Empty(result.Records);
    }

    [Fact]
    public void GroupVersion1_NeedsMetadataVersion40IV0_CountingLaterUpdatesOfTheSameRequest()
    {
        var old = MetadataImage.Empty("c") with
        {
            Features = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, new Dictionary<string, short> { ["metadata.version"] = 21 }),
        };
        var alone = Update(old, false, new FeatureUpdate("group.version", 1, FeatureUpgradeType.Upgrade));
        Assert.Equal(new ApiError(ErrorCode.InvalidUpdateVersion,
            "Invalid update version 1 for feature group.version. group.version could not be set to 1 because it depends on metadata.version level 22"), alone.Response);

        var together = Update(old, false,
            new FeatureUpdate("group.version", 1, FeatureUpgradeType.Upgrade),
            new FeatureUpdate("metadata.version", 25, FeatureUpgradeType.Upgrade));
        Assert.Equal(ApiError.None, together.Response);
        Assert.Equal(2, together.Records.Count);
    }

    [Theory]
    [InlineData("4.0-IV3", (short)25)]
    [InlineData("4.0", (short)25)]
    [InlineData("3.9", (short)21)]
    [InlineData("3.7", (short)19)]
    [InlineData("3.3-IV3", (short)7)]
    public void MetadataVersions_ParseKafkasNames_AndReleasesMeanTheirLatestLevel(string text, short level)
    {
        Assert.Equal(level, MetadataVersions.TryParse(text));
        Assert.Null(MetadataVersions.TryParse("3.2"));
        Assert.Equal("4.0-IV3", MetadataVersions.Name(25));
    }
}
