using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Benchmarks;

/// <summary>Kafka's framing over a blocking socket, one reusable receive buffer; nothing else.</summary>
internal sealed class RawClient : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    private byte[] _receive = new byte[4 * 1024 * 1024];
    private int _correlation;

    public RawClient(IPEndPoint endpoint) => _socket.Connect(endpoint);

    public byte[] Frame(IApiMessage request, short version) => RequestFrames.Build(request, version, ++_correlation, "records-bench");

    public void Send(byte[] frame) => _socket.Send(frame);

    /// <summary>Reads one response into the reusable buffer and decodes it (records stay slices of that buffer).</summary>
    public T Receive<T>(ApiKey apiKey, short version) where T : IApiMessage, new()
    {
        ReceiveExactly(_receive.AsSpan(0, 4));
        var size = RequestFrames.PayloadSize(_receive.AsSpan(0, 4));
        if (size > _receive.Length)
        {
            _receive = new byte[size];
        }
        ReceiveExactly(_receive.AsSpan(0, size));
        var reader = new ProtocolReader(_receive.AsMemory(0, size));
        new ResponseHeader().Read(ref reader, ApiMessages.ResponseHeaderVersion(apiKey, version));
        var response = new T();
        response.Read(ref reader, version);
        return response;
    }

    private void ReceiveExactly(Span<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            var n = _socket.Receive(buffer);
            buffer = n > 0 ? buffer[n..] : throw new EndOfStreamException();
        }
    }

    public void CreateTopic(string topic, int partitions = 1, params (string Name, string Value)[] configs)
    {
        var request = new CreateTopicsRequest
        {
            timeoutMs = 30_000,
            Topics = [new() { Name = topic, NumPartitions = partitions, ReplicationFactor = 1, Configs = [.. configs.Select(c => new CreateTopicsRequest.CreatableTopicConfig { Name = c.Name, Value = c.Value })] }],
        };
        Send(Frame(request, 7));
        var response = Receive<CreateTopicsResponse>(ApiKey.CreateTopics, 7);
        if (response.Topics[0].ErrorCode != 0)
        {
            throw new InvalidOperationException($"CreateTopics failed with error {response.Topics[0].ErrorCode}: {response.Topics[0].ErrorMessage}");
        }
        // Partition logs open in the background: wait until ListOffsets answers for every partition.
        var deadline = Stopwatch.StartNew();
        while (EndOffsets(topic, partitions) is null)
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"{topic} did not become available");
            }
            Thread.Sleep(10);
        }
    }

    /// <summary>The latest offset of each partition (ListOffsets -1), or null while any partition answers an error.</summary>
    public long[]? EndOffsets(string topic, int partitions)
    {
        Send(Frame(new ListOffsetsRequest
        {
            ReplicaId = -1,
            Topics = [new() { Name = topic, Partitions = [.. Enumerable.Range(0, partitions).Select(p => new ListOffsetsRequest.ListOffsetsPartition { PartitionIndex = p, Timestamp = -1 })] }],
        }, 8));
        var offsets = Receive<ListOffsetsResponse>(ApiKey.ListOffsets, 8);
        var answers = offsets.Topics.SelectMany(t => t.Partitions).OrderBy(p => p.PartitionIndex).ToList();
        return answers.Count == partitions && answers.All(p => p.ErrorCode == 0) ? [.. answers.Select(p => p.Offset)] : null;
    }

    public void Dispose() => _socket.Dispose();
}
