using Samsa.Protocol.Tests.Generated;

namespace Samsa.Protocol.Tests;

/// <summary>Every generated schema sample, and one test case per schema and version.</summary>
public static class AllSamples
{
    public static readonly IReadOnlyDictionary<string, MessageSample> BySchema =
        MessageSamples.Messages
            .Concat(MessageSamples.MetadataRecords)
            .Concat(MessageSamples.GroupCoordinatorRecords)
            .Concat(MessageSamples.TransactionCoordinatorRecords)
            .Concat(MessageSamples.ShareCoordinatorRecords)
            .Concat(MessageSamples.RaftRecords)
            .Concat(MessageSamples.StorageRecords)
            .ToDictionary(s => s.Schema);

    public static TheoryData<string, short> EveryVersion()
    {
        var data = new TheoryData<string, short>();
        foreach (var sample in BySchema.Values)
        {
            for (var v = sample.Lowest; v <= sample.Highest; v++)
            {
                data.Add(sample.Schema, v);
            }
        }
        return data;
    }

    public static byte[] Serialize(IProtocolStruct message, short version)
    {
        var size = message.Size(version);
        var bytes = new byte[size];
        var writer = new ProtocolWriter(bytes);
        message.Write(ref writer, version);
        Assert.Equal(size, writer.Position);
        return bytes;
    }

    public static IProtocolMessage Deserialize(MessageSample sample, byte[] bytes, short version)
    {
        var message = sample.Create();
        var reader = new ProtocolReader((ReadOnlyMemory<byte>)bytes);
        message.Read(ref reader, version);
        Assert.Equal(bytes.Length, reader.Position);
        return message;
    }
}
