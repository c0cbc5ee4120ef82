namespace Samsa.Protocol.Tests;

/// <summary>
/// Every message type of every schema, in every version: random instances survive write then read, the
/// computed size equals the bytes written, and writing the copy gives the same bytes.
/// </summary>
public class RoundTripTests
{
    private const int SeedsPerVersion = 16;

    public static TheoryData<string, short> Cases() => AllSamples.EveryVersion();

    [Theory]
    [MemberData(nameof(Cases))]
    public void WriteThenRead_GivesEqualMessage_AndSizeMatchesBytesWritten(string schema, short version)
    {
        var sample = AllSamples.BySchema[schema];
        for (var seed = 0; seed < SeedsPerVersion; seed++)
        {
            var original = sample.Build(new Random((seed * 7919) + version), version);
            var bytes = AllSamples.Serialize(original, version);
            var copy = AllSamples.Deserialize(sample, bytes, version);
            Assert.Equal(original, copy);
            Assert.Equal(original.GetHashCode(), copy.GetHashCode());
            Assert.Equal(bytes, AllSamples.Serialize(copy, version));
            Assert.Equal(original.ToString(), copy.ToString());
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ReadOfEveryTruncation_ThrowsProtocolException(string schema, short version)
    {
        var sample = AllSamples.BySchema[schema];
        var bytes = AllSamples.Serialize(sample.Build(new Random(version), version), version);
        for (var length = 0; length < bytes.Length; length++)
        {
            var prefix = bytes[..length];
            Assert.Throws<ProtocolException>(() =>
            {
                var reader = new ProtocolReader(prefix);
                sample.Create().Read(ref reader, version);
            });
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ReadOfMutatedBytes_EitherParsesOrThrowsProtocolException(string schema, short version)
    {
        var sample = AllSamples.BySchema[schema];
        var random = new Random(version + 1000);
        var bytes = AllSamples.Serialize(sample.Build(random, version), version);
        for (var round = 0; round < 50 && bytes.Length > 0; round++)
        {
            var mutated = (byte[])bytes.Clone();
            mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            try
            {
                var reader = new ProtocolReader(mutated);
                sample.Create().Read(ref reader, version);
            }
            catch (ProtocolException)
            {
                // The only failure a decoder may report.
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void UnknownTaggedFields_SurviveReadAndWrite_InFlexibleVersions(string schema, short version)
    {
        var sample = AllSamples.BySchema[schema];
        var original = sample.Build(new Random(version), version);
        var property = original.GetType().GetProperty("UnknownTaggedFields")!;
        property.SetValue(original, new List<RawTaggedField> { new(1000, [1, 2, 3]), new(5000, []) });
        byte[] bytes;
        try
        {
            bytes = AllSamples.Serialize(original, version);
        }
        catch (UnsupportedVersionException)
        {
            // Not a flexible version: tagged fields cannot be written at all, which must be refused.
            Assert.Null(FirstFlexible(sample, version));
            return;
        }
        var copy = AllSamples.Deserialize(sample, bytes, version);
        Assert.Equal(original, copy);
        var unknown = (List<RawTaggedField>)property.GetValue(copy)!;
        Assert.Equal([1000, 5000], unknown.Select(f => f.Tag));
    }

    /// <summary>Whether <paramref name="version"/> is flexible, judged by writing an empty instance with a tagged field.</summary>
    private static short? FirstFlexible(MessageSample sample, short version)
    {
        var probe = sample.Create();
        probe.GetType().GetProperty("UnknownTaggedFields")!.SetValue(probe, new List<RawTaggedField> { new(1000, []) });
        try
        {
            AllSamples.Serialize(probe, version);
            return version;
        }
        catch (UnsupportedVersionException)
        {
            return null;
        }
    }

    [Fact]
    public void EverySchemaFolder_IsCovered()
    {
        Assert.True(AllSamples.BySchema.Count >= 250, $"only {AllSamples.BySchema.Count} schemas have samples");
        Assert.Contains("messages/RequestHeader.json", AllSamples.BySchema.Keys);
        Assert.Contains("metadata/TopicRecord.json", AllSamples.BySchema.Keys);
        Assert.Contains("group-coordinator/OffsetCommitValue.json", AllSamples.BySchema.Keys);
    }
}
