import type { types as msc } from 'mediasoup-client';
import type { RtpCapabilities, RtpParameters } from '@mytaek1/contracts';

/*
 * The contract's media shapes (what the sfu's mediasoup produces, validated) handed to
 * mediasoup-client. They match field for field, except that the contract's header-extension URIs
 * include `urn:ietf:params:rtp-hdrext:toffset`, which mediasoup 3 routes and mediasoup-client's type
 * union omits; at run time mediasoup-client keeps an extension only if the browser offers it too.
 */

export function clientRtpCapabilities(capabilities: RtpCapabilities): msc.RtpCapabilities {
  return capabilities as msc.RtpCapabilities;
}

export function clientRtpParameters(parameters: RtpParameters): msc.RtpParameters {
  return parameters as msc.RtpParameters;
}
