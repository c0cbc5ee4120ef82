using BenchmarkDotNet.Attributes;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Benchmarks;

/// <summary>
/// Encode and decode of a Metadata response describing 1,000 partitions (100 topics x 10), at the newest
/// version. The baseline copies the same encoded bytes once: the floor any codec is measured against.
/// </summary>
[MemoryDiagnoser]
public class MetadataResponseBenchmarks
{
    private const short Version = 12;
    private MetadataResponse _response = null!;
    private byte[] _encoded = null!;
    private byte[] _buffer = null!;

    [GlobalSetup]
    public void Setup()
    {
        _response = new MetadataResponse
        {
            ClusterId = "q1Sh-9_ISia_zwGINzRvyQ",
            ControllerId = 1,
            Brokers = [new() { NodeId = 1, Host = "localhost", Port = 9092 }],
        };
        for (var t = 0; t < 100; t++)
        {
            var topic = new MetadataResponse.MetadataResponseTopic { Name = $"topic-{t:D3}", TopicId = new Uuid(t + 1, t + 2) };
            for (var p = 0; p < 10; p++)
            {
                topic.Partitions.Add(new() { PartitionIndex = p, LeaderId = 1, LeaderEpoch = 0, ReplicaNodes = [1], IsrNodes = [1] });
            }
            _response.Topics.Add(topic);
        }
        _encoded = _response.ToArray(Version);
        _buffer = new byte[_encoded.Length];
    }

    [Benchmark(Baseline = true, Description = "memcpy of the encoded bytes (reference)")]
    public int CopyEncodedBytes()
    {
        _encoded.AsSpan().CopyTo(_buffer);
        return _buffer.Length;
    }

    [Benchmark(Description = "encode MetadataResponse v12, 1,000 partitions")]
    public int Encode()
    {
        var size = _response.Size(Version);
        var writer = new ProtocolWriter(_buffer.AsSpan(0, size));
        _response.Write(ref writer, Version);
        return writer.Position;
    }

    [Benchmark(Description = "decode MetadataResponse v12, 1,000 partitions")]
    public int Decode()
    {
        var reader = new ProtocolReader((ReadOnlyMemory<byte>)_encoded);
        var response = new MetadataResponse();
        response.Read(ref reader, Version);
        return response.Topics.Count;
    }
}

/// <summary>
/// The request path of a produce: request header v2 and a Produce v9 body with one partition whose 16 KiB
/// of records is handed out as a slice of the frame, never copied. Baseline: copying the frame once.
/// </summary>
[MemoryDiagnoser]
public class ProduceRequestBenchmarks
{
    private const short Version = 9;
    private byte[] _frame = null!;
    private byte[] _copy = null!;

    [GlobalSetup]
    public void Setup()
    {
        var header = new RequestHeader { RequestApiKey = (short)ApiKey.Produce, RequestApiVersion = Version, CorrelationId = 42, ClientId = "rdkafka" };
        var records = new byte[16 * 1024];
        new Random(1).NextBytes(records);
        var request = new ProduceRequest
        {
            Acks = -1,
            TimeoutMs = 30000,
            TopicData = [new() { Name = "bench", PartitionData = [new() { Index = 0, Records = records }] }],
        };
        var headerBytes = header.ToArray(2);
        _frame = [.. headerBytes, .. request.ToArray(Version)];
        _copy = new byte[_frame.Length];
    }

    [Benchmark(Baseline = true, Description = "memcpy of the frame (reference)")]
    public int CopyFrame()
    {
        _frame.AsSpan().CopyTo(_copy);
        return _copy.Length;
    }

    [Benchmark(Description = "decode request header v2 + Produce v9 (16 KiB records)")]
    public int DecodeHeaderAndProduce()
    {
        var reader = new ProtocolReader((ReadOnlyMemory<byte>)_frame);
        var header = new RequestHeader();
        header.Read(ref reader, ApiMessages.RequestHeaderVersion(ApiKey.Produce, Version));
        var request = new ProduceRequest();
        request.Read(ref reader, header.RequestApiVersion);
        return request.TopicData[0].PartitionData[0].Records!.Value.Length;
    }
}
