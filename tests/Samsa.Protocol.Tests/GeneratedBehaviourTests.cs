using Samsa.Protocol.Messages;

namespace Samsa.Protocol.Tests;

/// <summary>Behaviour of generated messages that Kafka's own generator defines: versions, defaults, ignorable fields, headers.</summary>
public class GeneratedBehaviourTests
{
    [Fact]
    public void NonIgnorableField_SetAwayFromDefault_CannotBeWrittenInOlderVersion()
    {
        var request = new MetadataRequest { AllowAutoTopicCreation = false };
        Assert.Throws<UnsupportedVersionException>(() => request.ToArray(3));
        Assert.NotEmpty(request.ToArray(4));
    }

    [Fact]
    public void IgnorableField_IsDroppedSilentlyInOlderVersion()
    {
        var response = new ApiVersionsResponse { ThrottleTimeMs = 100 };
        var v0 = ProtocolMessageExtensions.Parse<ApiVersionsResponse>(response.ToArray(0), 0);
        Assert.Equal(0, v0.ThrottleTimeMs);
    }

    [Fact]
    public void Defaults_FollowTheSchema()
    {
        var partition = new MetadataResponse.MetadataResponsePartition();
        Assert.Equal(-1, partition.LeaderEpoch);
        Assert.Equal(int.MinValue, new MetadataResponse().ClusterAuthorizedOperations);
        Assert.Equal(-1L, new ApiVersionsResponse().FinalizedFeaturesEpoch);
        Assert.Equal("", new RequestHeader().ClientId);
    }

    [Fact]
    public void NullInNonNullableVersion_IsRejectedOnRead()
    {
        // MetadataRequest v0: a null topic array (-1) is not allowed; v1+ means "all topics".
        var error = Assert.Throws<ProtocolException>(() => ProtocolMessageExtensions.Parse<MetadataRequest>(new byte[] { 0xff, 0xff, 0xff, 0xff }, 0));
        Assert.Contains("Topics", error.Message);
        Assert.Null(ProtocolMessageExtensions.Parse<MetadataRequest>(new byte[] { 0xff, 0xff, 0xff, 0xff }, 1).Topics);
    }

    [Fact]
    public void TaggedField_IsWrittenOnlyWhenNotDefault()
    {
        var plain = new ApiVersionsResponse().ToArray(3);
        var tagged = new ApiVersionsResponse { FinalizedFeaturesEpoch = 5 }.ToArray(3);
        Assert.True(tagged.Length > plain.Length);
        Assert.Equal(5, ProtocolMessageExtensions.Parse<ApiVersionsResponse>(tagged, 3).FinalizedFeaturesEpoch);
    }

    [Fact]
    public void MapKey_FindsElement()
    {
        var response = new ApiVersionsResponse { ApiKeys = [new() { ApiKey = 3, MaxVersion = 12 }, new() { ApiKey = 18, MaxVersion = 4 }] };
        Assert.Equal(4, response.FindApiKeys(18)!.MaxVersion);
        Assert.Null(response.FindApiKeys(0));
    }

    [Fact]
    public void Registry_KnowsEveryKey_AndHeaderVersions()
    {
        Assert.Equal(ApiKey.ApiVersions, (ApiKey)18);
        Assert.IsType<MetadataRequest>(ApiMessages.CreateRequest(ApiKey.Metadata));
        Assert.IsType<ProduceResponse>(ApiMessages.CreateResponse(ApiKey.Produce));
        Assert.Equal(2, ApiMessages.RequestHeaderVersion(ApiKey.Metadata, 9));
        Assert.Equal(1, ApiMessages.RequestHeaderVersion(ApiKey.Metadata, 8));
        Assert.Equal(0, ApiMessages.RequestHeaderVersion(ApiKey.ControlledShutdown, 0));
        Assert.Equal(0, ApiMessages.ResponseHeaderVersion(ApiKey.ApiVersions, 3));
        Assert.Equal(1, ApiMessages.ResponseHeaderVersion(ApiKey.Metadata, 9));
        foreach (var key in ApiMessages.All)
        {
            Assert.Equal(key, ApiMessages.CreateRequest(key).ApiKey);
            Assert.Equal(key, ApiMessages.CreateResponse(key).ApiKey);
        }
    }

    [Fact]
    public void RequestHeader_ClientIdStaysClassicStringInFlexibleVersion()
    {
        var header = new RequestHeader { RequestApiKey = 18, RequestApiVersion = 3, CorrelationId = 7, ClientId = "rdkafka" };
        var bytes = header.ToArray(2);
        // api key, version, correlation id, int16-length client id, empty tagged section
        Assert.Equal("0012" + "0003" + "00000007" + "0007" + Convert.ToHexStringLower("rdkafka"u8) + "00", Convert.ToHexStringLower(bytes));
    }
}
