/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "genz.h"
#include "macro.h"

/*
 * The field tables. The facts (names, places, widths) are those of the Gen-Z Core
 * Specification 1.1 as the linux-genz tools lay its control structures out (genz-utils,
 * genz/genz_1_1.py); only fields are listed, the bits between them are reserved.
 *
 * FIELD(name, word, bit, width, flags): word is the byte offset of the 64-bit word the field
 * starts in, bit its first bit within that word (0 = least significant), as the specification's
 * tables give them. A field may run on into the next word (NOPDESTSID, StructPTR14).
 *
 * Registers made of bit fields (CStatus, CControl, CAP1, IStatus, IControl, SwitchOpCTL, ...)
 * are listed as those bit fields, not as a whole. Bit fields are named as the Python names
 * them; where two registers of one structure have a bit field of the same name, both are
 * named "<register>.<field>" ("IControl.FullIfaceReset", "CAP1.MaxPkt"). The tools split a
 * few fields into low and high parts; here they are one field: NOPDESTSID, StructPTR14, and
 * the UUIDs, named as the specification writes them ("MGR-UUID", "C-UUID").
 *
 * RW marks what a fabric manager writes: IDs, manager IDs, timeouts and deadlines, control
 * registers and enables, the MGR-UUID. Status, capabilities, sizes, pointers and what a peer
 * told the interface (Peer*) are read-only.
 */
#define FIELD(name_, word_, bit_, width_, flags_)                                                  \
	{                                                                                          \
		.name = (name_), .bit = 8 * (word_) + (bit_), .width = (width_), .flags = (flags_) \
	}
#define RW GENZ_FIELD_RW
#define PTR GENZ_FIELD_PTR

static const GenzField core_fields[] = {
	FIELD("Type", 0x000, 0, 12, 0),
	FIELD("Vers", 0x000, 12, 4, 0),
	FIELD("Size", 0x000, 16, 16, PTR),
	/* CStatus */
	FIELD("CState", 0x008, 0, 3, 0),
	FIELD("UEStatus", 0x008, 3, 1, 0),
	FIELD("NonFatalError", 0x008, 4, 1, 0),
	FIELD("FatalError", 0x008, 5, 1, 0),
	FIELD("NTError", 0x008, 6, 1, 0),
	FIELD("BISTFailure", 0x008, 7, 1, 0),
	FIELD("ThermStatus", 0x008, 8, 2, 0),
	FIELD("Containment", 0x008, 10, 1, 0),
	FIELD("EmergPwr", 0x008, 11, 1, 0),
	FIELD("PwrOffTransCmpl", 0x008, 12, 1, 0),
	FIELD("ThermThrottled", 0x008, 13, 1, 0),
	FIELD("ThermThrotRestor", 0x008, 14, 1, 0),
	FIELD("CannotExePersFlush", 0x008, 15, 1, 0),
	FIELD("HwInitValid", 0x008, 16, 1, 0),
	FIELD("RefreshCompCmpl", 0x008, 17, 1, 0),
	FIELD("OpError", 0x008, 18, 1, 0),
	FIELD("MaxCtrlNop", 0x008, 19, 1, 0),
	/* CControl */
	FIELD("ComponentEnb", 0x010, 0, 1, RW),
	FIELD("ComponentReset", 0x010, 1, 3, RW),
	FIELD("HaltUERT", 0x010, 4, 1, RW),
	FIELD("TransitionCUp", 0x010, 5, 1, RW),
	FIELD("TransitionCLP", 0x010, 6, 1, RW),
	FIELD("TransitionCDLP", 0x010, 7, 1, RW),
	FIELD("TriggerEmergPwrRed", 0x010, 8, 1, RW),
	FIELD("ExitEmergPwrRed", 0x010, 9, 1, RW),
	FIELD("TransitionCompPwrOff", 0x010, 10, 1, RW),
	FIELD("UpperThermLimPerfThrotEnb", 0x010, 11, 1, RW),
	FIELD("CautionThermLimPerfThrotEnb", 0x010, 12, 1, RW),
	FIELD("LPDRspZMMUBypass", 0x010, 13, 1, RW),
	FIELD("RefreshCompConfig", 0x010, 14, 1, RW),
	FIELD("TransmitLocalCtlNoOp", 0x010, 15, 1, RW),
	FIELD("TransmitGlobalCtlNoOp", 0x010, 16, 1, RW),
	FIELD("TransmitLocalCtlAEAD", 0x010, 17, 1, RW),
	FIELD("TransmitGlobalCtlAEAD", 0x010, 18, 1, RW),
	FIELD("BaseCClass", 0x018, 0, 16, 0),
	FIELD("MaxInterface", 0x018, 16, 12, 0),
	FIELD("RBIST", 0x018, 28, 4, 0),
	FIELD("RDLAT", 0x018, 32, 16, 0),
	FIELD("WRLAT", 0x018, 48, 16, 0),
	FIELD("MaxRSPSuppReqs", 0x020, 0, 20, 0),
	FIELD("MaxREQSuppReqs", 0x020, 20, 20, 0),
	FIELD("COpClock", 0x020, 40, 24, 0),
	FIELD("MaxData", 0x028, 0, 64, 0),
	FIELD("MaxCTL", 0x030, 0, 52, 0),
	FIELD("MaxRNR", 0x030, 52, 3, 0),
	FIELD("CStateTransLat", 0x038, 0, 32, 0),
	FIELD("CIdleTimes", 0x038, 32, 16, 0),
	FIELD("LPWR", 0x040, 0, 10, 0),
	FIELD("NPWR", 0x040, 10, 10, 0),
	FIELD("HPWR", 0x040, 20, 10, 0),
	FIELD("EPWR", 0x040, 30, 10, 0),
	FIELD("APWR", 0x040, 40, 10, 0),
	FIELD("StructPTR0", 0x048, 0, 32, PTR),
	FIELD("StructPTR1", 0x048, 32, 32, PTR),
	FIELD("StructPTR2", 0x050, 0, 32, PTR),
	FIELD("StructPTR3", 0x050, 32, 32, PTR),
	FIELD("StructPTR4", 0x058, 0, 32, PTR),
	FIELD("StructPTR5", 0x058, 32, 32, PTR),
	FIELD("StructPTR6", 0x060, 0, 32, PTR),
	FIELD("StructPTR7", 0x060, 32, 32, PTR),
	FIELD("StructPTR8", 0x068, 0, 32, PTR),
	FIELD("CoreLPDBDFPTR", 0x068, 32, 32, PTR),
	FIELD("OpcodeSetPTR", 0x070, 0, 32, PTR),
	FIELD("CAccessPTR", 0x070, 32, 32, PTR),
	FIELD("CompDestPTR", 0x078, 0, 32, PTR),
	FIELD("Interface0PTR", 0x078, 32, 32, PTR),
	FIELD("CompExtPTR", 0x080, 0, 32, PTR),
	FIELD("CompErrSigPTR", 0x080, 32, 32, PTR),
	FIELD("LLMUTO", 0x088, 0, 16, RW),
	FIELD("CRPTO", 0x088, 16, 16, RW),
	FIELD("CCTO", 0x088, 32, 16, RW),
	FIELD("FAILTO", 0x088, 48, 16, RW),
	FIELD("UNRSP", 0x090, 48, 16, RW),
	FIELD("UERT", 0x098, 0, 16, RW),
	FIELD("NIRT", 0x098, 16, 16, RW),
	FIELD("ATSTO", 0x098, 32, 16, RW),
	FIELD("UNREQ", 0x098, 48, 16, RW),
	FIELD("LLReqDeadline", 0x0a0, 0, 10, RW),
	FIELD("NLLReqDeadline", 0x0a0, 10, 10, RW),
	FIELD("DeadlineTick", 0x0a0, 20, 12, RW),
	FIELD("FPST", 0x0a0, 32, 16, RW),
	FIELD("PCOFPST", 0x0a0, 48, 16, RW),
	FIELD("LLRspDeadline", 0x0a8, 0, 10, RW),
	FIELD("NLLRspDeadline", 0x0a8, 10, 10, RW),
	FIELD("RspDeadline", 0x0a8, 20, 10, RW),
	FIELD("SFMSID", 0x0a8, 48, 16, RW),
	FIELD("PMCID", 0x0b0, 0, 12, RW),
	FIELD("PWRMGRCID", 0x0b0, 12, 12, RW),
	FIELD("PFMCID", 0x0b0, 24, 12, RW),
	FIELD("PFMSID", 0x0b0, 36, 16, RW),
	FIELD("SFMCID", 0x0b0, 52, 12, RW),
	FIELD("SID0", 0x0b8, 0, 16, RW),
	FIELD("DRReqDeadline", 0x0b8, 16, 10, RW),
	FIELD("CV", 0x0c0, 0, 8, RW),
	FIELD("CID0", 0x0c0, 8, 12, RW),
	FIELD("CID1", 0x0c0, 20, 12, RW),
	FIELD("CID2", 0x0c0, 32, 12, RW),
	FIELD("CID3", 0x0c0, 44, 12, RW),
	FIELD("BufferTC", 0x0c0, 60, 4, RW),
	FIELD("MaxRequests", 0x0c8, 0, 20, RW),
	FIELD("PWRMGRSID", 0x0c8, 34, 16, RW),
	FIELD("ControlTO", 0x0d0, 0, 16, RW),
	FIELD("ControlDRTO", 0x0d0, 16, 16, RW),
	FIELD("NLMUTO", 0x0d0, 32, 16, RW),
	FIELD("NOPDESTCID", 0x0d0, 48, 12, RW),
	FIELD("NOPDESTSID", 0x0d0, 60, 16, RW),
	FIELD("NOPSRCCID", 0x0d8, 12, 12, RW),
	FIELD("NOPSRCSID", 0x0d8, 24, 16, RW),
	FIELD("AEC", 0x0d8, 40, 4, 0),
	FIELD("StructPTR9", 0x130, 0, 32, PTR),
	FIELD("StructPTR10", 0x130, 32, 32, PTR),
	FIELD("StructPTR11", 0x138, 0, 32, PTR),
	FIELD("StructPTR12", 0x138, 32, 32, PTR),
	FIELD("StructPTR13", 0x140, 0, 48, PTR),
	FIELD("StructPTR14", 0x140, 48, 48, PTR),
	FIELD("StructPTR15", 0x148, 32, 32, PTR),
	/* CAP1 */
	FIELD("CAP1.MaxPkt", 0x150, 0, 3, 0),
	FIELD("NoSnoopSup", 0x150, 3, 1, 0),
	FIELD("ContentResetSup", 0x150, 4, 1, 0),
	FIELD("BISTSup", 0x150, 5, 1, 0),
	FIELD("ContainmentSup", 0x150, 6, 1, 0),
	FIELD("AddrInterp", 0x150, 7, 1, 0),
	FIELD("NextHdrSup", 0x150, 8, 1, 0),
	FIELD("PrecisionTimeSup", 0x150, 10, 1, 0),
	FIELD("DataSpace", 0x150, 11, 3, 0),
	FIELD("CachedCtlSpace", 0x150, 14, 1, 0),
	FIELD("InbandMgmtSup", 0x150, 15, 1, 0),
	FIELD("OOBMgmtSup", 0x150, 16, 1, 0),
	FIELD("PrimMgrSup", 0x150, 17, 1, 0),
	FIELD("FabricMgrSup", 0x150, 18, 1, 0),
	FIELD("PwrMgrSup", 0x150, 19, 1, 0),
	FIELD("AutoCStateSup", 0x150, 20, 1, 0),
	FIELD("VdefPwrMgmtSup", 0x150, 21, 1, 0),
	FIELD("EmergPwrReductSup", 0x150, 22, 1, 0),
	FIELD("ConfigPostEmergPwr", 0x150, 23, 1, 0),
	FIELD("EmergPwrRelaySup", 0x150, 24, 1, 0),
	FIELD("CStatePwrCtlSup", 0x150, 25, 1, 0),
	FIELD("PwrDisableSup", 0x150, 26, 1, 0),
	FIELD("PwrScale", 0x150, 27, 3, 0),
	FIELD("AuxPwrScale", 0x150, 30, 3, 0),
	FIELD("MCTPSup", 0x150, 33, 1, 0),
	FIELD("CoreLatScale", 0x150, 34, 2, 0),
	FIELD("SubnetSup", 0x150, 36, 1, 0),
	FIELD("NIRTSup", 0x150, 39, 1, 0),
	FIELD("EmergPwrSigSup", 0x150, 41, 1, 0),
	FIELD("CtlTimerUnit", 0x150, 42, 2, 0),
	FIELD("TimerUnit", 0x150, 44, 4, 0),
	FIELD("PwrDisSigSup", 0x150, 48, 1, 0),
	FIELD("RspZMMUIntrTransSup", 0x150, 49, 1, 0),
	FIELD("SharedEmergSigSup", 0x150, 50, 1, 0),
	FIELD("MgmtCLPSup", 0x150, 51, 1, 0),
	FIELD("MgmtCDLPSup", 0x150, 52, 1, 0),
	FIELD("FPSSup", 0x150, 53, 1, 0),
	FIELD("PCOFPSSup", 0x150, 54, 1, 0),
	FIELD("CompAuthSup", 0x150, 55, 1, 0),
	FIELD("MgmtServSup", 0x150, 56, 1, 0),
	FIELD("MaxCID", 0x150, 57, 3, 0),
	FIELD("P2PNxtHdrSup", 0x150, 60, 1, 0),
	FIELD("P2PAEADSup", 0x150, 61, 1, 0),
	FIELD("ExplicitAEADSup", 0x150, 62, 1, 0),
	FIELD("LoopbackSup", 0x150, 63, 1, 0),
	/* CAP1Control */
	FIELD("CAP1Control.MaxPkt", 0x158, 0, 3, RW),
	FIELD("NoSnoopCtl", 0x158, 3, 1, RW),
	FIELD("BISTCtl", 0x158, 4, 1, RW),
	FIELD("ManagerType", 0x158, 5, 1, RW),
	FIELD("PrimaryMgrRole", 0x158, 6, 1, RW),
	FIELD("PrimaryFabMgrRole", 0x158, 7, 1, RW),
	FIELD("SecondaryFabMgrRole", 0x158, 8, 1, RW),
	FIELD("PwrMgrEnb", 0x158, 9, 2, RW),
	FIELD("PrimaryMgrTransition", 0x158, 11, 1, RW),
	FIELD("FabricMgrTransition", 0x158, 12, 1, RW),
	FIELD("NextHdrEnb", 0x158, 13, 1, RW),
	FIELD("NextHdrPrecTimeEnb", 0x158, 15, 1, RW),
	FIELD("InbandMgmtDisable", 0x158, 16, 1, RW),
	FIELD("OOBMgmtDisable", 0x158, 17, 1, RW),
	FIELD("AutoCStateEnb", 0x158, 18, 1, RW),
	FIELD("VdefPwrMgmtEnb", 0x158, 19, 1, RW),
	FIELD("MaxPwrCtl", 0x158, 20, 3, RW),
	FIELD("EmergPwrReductEnb", 0x158, 23, 1, RW),
	FIELD("NotifyPeerCStateEnb", 0x158, 24, 1, RW),
	FIELD("CStatePwrCtlEnb", 0x158, 26, 1, RW),
	FIELD("LowestAutoCState", 0x158, 27, 3, RW),
	FIELD("InitiateAllStatsSnap", 0x158, 30, 1, RW),
	FIELD("InitiateAllIfaceStatsSnap", 0x158, 31, 1, RW),
	FIELD("MCTPEnb", 0x158, 34, 1, RW),
	FIELD("MetaRWHdrEnb", 0x158, 35, 1, RW),
	FIELD("HostMgrMGRUUIDEnb", 0x158, 36, 2, RW),
	FIELD("MGRUUIDEnb", 0x158, 38, 1, RW),
	FIELD("LoopbackEnb", 0x158, 39, 1, RW),
	FIELD("SWMgmt0", 0x158, 56, 1, RW),
	FIELD("SWMgmt1", 0x158, 57, 1, RW),
	FIELD("SWMgmt2", 0x158, 58, 1, RW),
	FIELD("SWMgmt3", 0x158, 59, 1, RW),
	FIELD("SWMgmt4", 0x158, 60, 1, RW),
	FIELD("SWMgmt5", 0x158, 61, 1, RW),
	FIELD("SWMgmt6", 0x158, 62, 1, RW),
	FIELD("SWMgmt7", 0x158, 63, 1, RW),
	/* CAP2 */
	FIELD("RKeySup", 0x160, 0, 2, 0),
	FIELD("RspMemInterleaveSup", 0x160, 2, 1, 0),
	FIELD("ReqMemInterleaveSup", 0x160, 3, 1, 0),
	FIELD("WrMSGEmbeddedRdSup", 0x160, 5, 1, 0),
	FIELD("PoisonGranSup", 0x160, 6, 4, 0),
	FIELD("HostLPDType1Type2Sup", 0x160, 10, 1, 0),
	FIELD("HostLPDType0Sup", 0x160, 11, 1, 0),
	FIELD("PerfMarkerSup", 0x160, 12, 3, 0),
	FIELD("MaxPerfRecords", 0x160, 15, 5, 0),
	FIELD("MetaRdWrSup", 0x160, 20, 3, 0),
	FIELD("HostLPDType3Sup", 0x160, 23, 1, 0),
	FIELD("HostLPDType4Sup", 0x160, 24, 1, 0),
	FIELD("BufReqT10DIFSup", 0x160, 25, 1, 0),
	FIELD("BufReqT10PISup", 0x160, 26, 1, 0),
	FIELD("DIPIBlockSzSup", 0x160, 27, 8, 0),
	FIELD("WrMSGRecvTagFilterSup", 0x160, 36, 1, 0),
	FIELD("WrMSGRecvTagPostingSup", 0x160, 37, 1, 0),
	FIELD("WrMSGEnqDeqSharedQSup", 0x160, 38, 1, 0),
	FIELD("PersFlushPageSup", 0x160, 41, 1, 0),
	FIELD("RspLPDType5Sup", 0x160, 42, 1, 0),
	FIELD("ReqLPDType5Sup", 0x160, 43, 1, 0),
	FIELD("EnqueueEmbeddedRdSup", 0x160, 44, 1, 0),
	FIELD("NoOpCoreInitiationSup", 0x160, 45, 1, 0),
	/* CAP2Control */
	FIELD("PMCIDValid", 0x168, 1, 1, RW),
	FIELD("PFMCIDValid", 0x168, 2, 1, RW),
	FIELD("SFMCIDValid", 0x168, 3, 1, RW),
	FIELD("PFMSIDValid", 0x168, 4, 1, RW),
	FIELD("SFMSIDValid", 0x168, 5, 1, RW),
	FIELD("RspMemInterleaveEnb", 0x168, 6, 1, RW),
	FIELD("PerfLogRecordEnb", 0x168, 7, 1, RW),
	FIELD("ClearPerfMarkerLog", 0x168, 8, 1, RW),
	FIELD("HostLPDType1_2Enb", 0x168, 9, 1, RW),
	FIELD("HostLPDType3Enb", 0x168, 10, 1, RW),
	FIELD("HostLPDType0Enb", 0x168, 11, 1, RW),
	FIELD("HostLPDType4Enb", 0x168, 12, 1, RW),
	FIELD("DIPIBlockSize", 0x168, 15, 3, RW),
	FIELD("BufReqT10DIFPIEnb", 0x168, 18, 1, RW),
	FIELD("RSPLPDType5Enb", 0x168, 22, 1, RW),
	FIELD("REQLPDType5Enb", 0x168, 23, 1, RW),
	FIELD("EnqueueEmbeddedRdEnb", 0x168, 24, 1, RW),
	FIELD("CAP3", 0x170, 0, 64, 0),
	FIELD("CAP3Control", 0x178, 0, 64, RW),
	FIELD("CAP4", 0x180, 0, 64, 0),
	FIELD("CAP4Control", 0x188, 0, 64, RW),
	FIELD("UWMSGSZ", 0x198, 20, 11, 0),
	FIELD("WMSGSZ", 0x198, 31, 11, 0),
	FIELD("CWMSGSZ", 0x198, 42, 11, 0),
	FIELD("UCWMSGSZ", 0x198, 53, 11, 0),
	FIELD("COHLAT", 0x1a0, 0, 16, 0),
	FIELD("OOOTO", 0x1a0, 16, 16, RW),
	FIELD("REQNIRTO", 0x1a0, 32, 16, RW),
	FIELD("REQABNIRTO", 0x1a0, 48, 16, RW),
	FIELD("CompNonce", 0x1a8, 0, 64, RW),
	FIELD("MGR-UUID", 0x1b0, 0, 128, RW),
	FIELD("SerialNumber", 0x1c0, 0, 64, 0),
	FIELD("ThermAttribs", 0x1c8, 0, 16, 0),
	FIELD("UpperThermLim", 0x1c8, 16, 10, 0),
	FIELD("CautionThermLim", 0x1c8, 26, 10, 0),
	FIELD("LowestThermLim", 0x1c8, 36, 11, 0),
	FIELD("CurrentTherm", 0x1c8, 47, 11, 0),
	FIELD("Z-UUID", 0x1d0, 0, 128, 0),
	FIELD("C-UUID", 0x1e0, 0, 128, 0),
	FIELD("FRU-UUID", 0x1f0, 0, 128, 0),
};

static const GenzField interface_fields[] = {
	FIELD("Type", 0x000, 0, 12, 0),
	FIELD("Vers", 0x000, 12, 4, 0),
	FIELD("Size", 0x000, 16, 16, PTR),
	FIELD("InterfaceID", 0x000, 32, 12, 0),
	FIELD("HVS", 0x000, 44, 5, 0),
	FIELD("PHYPowerEnb", 0x000, 56, 8, RW),
	/* IStatus */
	FIELD("IState", 0x008, 0, 3, 0),
	FIELD("IStatus.FullIfaceReset", 0x008, 3, 1, 0),
	FIELD("IStatus.WarmIfaceReset", 0x008, 4, 1, 0),
	FIELD("LinkRFCStatus", 0x008, 5, 1, 0),
	FIELD("PeerLinkRFCReady", 0x008, 6, 1, 0),
	FIELD("PeerLinkRFCTTC", 0x008, 7, 1, 0),
	FIELD("ExceededTransientErrThresh", 0x008, 8, 1, 0),
	FIELD("LUpToLLPTransitionFailed", 0x008, 9, 1, 0),
	FIELD("LinkCTLCompleted", 0x008, 10, 1, 0),
	FIELD("LinkCTLComplStatus", 0x008, 11, 5, 0),
	FIELD("IStatus.IfaceContainment", 0x008, 16, 1, 0),
	FIELD("IfaceCompContainment", 0x008, 17, 1, 0),
	FIELD("PeerIfaceIncompat", 0x008, 18, 1, 0),
	FIELD("PeerNonceDetected", 0x008, 19, 1, 0),
	FIELD("LLRStatus", 0x008, 20, 1, 0),
	/* IControl */
	FIELD("IfaceEnb", 0x008, 32, 1, RW),
	FIELD("IControl.FullIfaceReset", 0x008, 33, 1, RW),
	FIELD("IControl.WarmIfaceReset", 0x008, 34, 1, RW),
	FIELD("LinkRFCDisable", 0x008, 35, 1, RW),
	FIELD("PeerCReset", 0x008, 36, 1, RW),
	FIELD("PeerCUpTransition", 0x008, 37, 1, RW),
	FIELD("PeerAttr1Req", 0x008, 38, 1, RW),
	FIELD("IfaceAKeyValidationEnb", 0x008, 39, 1, RW),
	FIELD("LUpTransition", 0x008, 40, 1, RW),
	FIELD("AutoStop", 0x008, 41, 1, RW),
	FIELD("PathTimeReq", 0x008, 42, 1, RW),
	FIELD("ForcePLARetraining", 0x008, 43, 1, RW),
	FIELD("LLPTransition", 0x008, 44, 3, RW),
	FIELD("LUpLPTransition", 0x008, 47, 3, RW),
	FIELD("PeerSetAttrReq", 0x008, 50, 1, RW),
	FIELD("IngressDREnb", 0x008, 51, 1, RW),
	FIELD("P2PNextHdrEnb", 0x008, 52, 1, RW),
	FIELD("IControl.IfaceContainment", 0x008, 53, 1, RW),
	FIELD("PeerNonceReq", 0x008, 54, 1, RW),
	FIELD("P2PAEADEnb", 0x008, 55, 1, RW),
	FIELD("P2PAEADEKeyUpdateEnb", 0x008, 56, 1, RW),
	/* ICAP1 */
	FIELD("IfaceContainmentSup", 0x010, 0, 1, 0),
	FIELD("IfaceErrFieldsSup", 0x010, 1, 1, 0),
	FIELD("IfaceErrLogSup", 0x010, 2, 1, 0),
	FIELD("TransientErrThreshSup", 0x010, 3, 1, 0),
	FIELD("IErrFaultInjSup", 0x010, 4, 1, 0),
	FIELD("LPRTWildcardSup", 0x010, 5, 1, 0),
	FIELD("MPRTWildcardSup", 0x010, 6, 1, 0),
	FIELD("IfaceLoopbackSup", 0x010, 7, 1, 0),
	FIELD("ImplicitFCSup", 0x010, 8, 1, 0),
	FIELD("ExplicitFCSup", 0x010, 9, 1, 0),
	FIELD("P2P64Sup", 0x010, 11, 1, 0),
	FIELD("P2PVdefSup", 0x010, 12, 1, 0),
	FIELD("ExplicitOpClassSup", 0x010, 14, 1, 0),
	FIELD("DROpClassSup", 0x010, 15, 1, 0),
	FIELD("PktRelayAKeyFields", 0x010, 16, 1, 0),
	FIELD("IfaceAKeyValidationSup", 0x010, 17, 1, 0),
	FIELD("LLRSup", 0x010, 18, 1, 0),
	FIELD("TRIfaceSup", 0x010, 19, 1, 0),
	FIELD("SrcCIDPktValidationSup", 0x010, 20, 1, 0),
	FIELD("SrcSIDPktValidationSup", 0x010, 21, 1, 0),
	FIELD("AdaptiveFCCreditSup", 0x010, 22, 1, 0),
	FIELD("PCOCommSup", 0x010, 23, 1, 0),
	FIELD("AggIfaceSup", 0x010, 25, 1, 0),
	FIELD("AggIfaceRole", 0x010, 26, 1, 0),
	FIELD("PeerNonceValidationSup", 0x010, 27, 1, 0),
	FIELD("P2PStandaloneAckRequired", 0x010, 28, 1, 0),
	FIELD("IfaceGroupSup", 0x010, 29, 1, 0),
	FIELD("IfaceGroupSingleOpClass", 0x010, 30, 1, 0),
	FIELD("P2PBackupSup", 0x010, 31, 1, 0),
	/* ICAP1Control */
	FIELD("TransientErrThreshEnb", 0x010, 33, 1, RW),
	FIELD("IErrFaultInjEnb", 0x010, 34, 1, RW),
	FIELD("WildcardPktRelayEnb", 0x010, 35, 1, RW),
	FIELD("IfaceLoopbackEnb", 0x010, 36, 1, RW),
	FIELD("FlowControlType", 0x010, 37, 1, RW),
	FIELD("OpClassSelect", 0x010, 38, 3, RW),
	FIELD("CtlOpClassPktFiltEnb", 0x010, 41, 1, RW),
	FIELD("UnreliableCtlWriteMSGPktFiltEnb", 0x010, 42, 1, RW),
	FIELD("LPRTEnb", 0x010, 43, 1, RW),
	FIELD("MPRTEnb", 0x010, 44, 1, RW),
	FIELD("LLRCRCTrigger", 0x010, 46, 1, RW),
	FIELD("SrcCIDPktValidationEnb", 0x010, 47, 1, RW),
	FIELD("SrcSIDPktValidationEnb", 0x010, 48, 1, RW),
	FIELD("PeerCIDConfigured", 0x010, 49, 1, RW),
	FIELD("PeerSIDConfigured", 0x010, 50, 1, RW),
	FIELD("AdaptiveFCCreditEnb", 0x010, 51, 1, RW),
	FIELD("OmitP2PStandaloneAck", 0x010, 52, 1, RW),
	FIELD("IfaceCompContainmentEnb", 0x010, 53, 1, RW),
	FIELD("PeerNonceValidationEnb", 0x010, 54, 1, RW),
	FIELD("PCOCommEnb", 0x010, 55, 1, RW),
	FIELD("LLREnb", 0x010, 56, 1, RW),
	FIELD("AggIfaceCtl", 0x010, 57, 2, RW),
	FIELD("TRCIDValid", 0x010, 59, 1, RW),
	FIELD("PrecisionTimeEnb", 0x010, 60, 1, RW),
	/* ICAP2 */
	FIELD("TEHistSize", 0x018, 0, 3, 0),
	/* ICAP2Control */
	FIELD("SWMgmtI0", 0x018, 32, 1, RW),
	FIELD("SWMgmtI1", 0x018, 33, 1, RW),
	/* IErrorStatus */
	FIELD("IErrorStatus.ExcessivePHYRetraining", 0x020, 0, 1, RW),
	FIELD("IErrorStatus.NonTransientLinkErr", 0x020, 1, 1, RW),
	FIELD("IErrorStatus.IfaceContainment", 0x020, 2, 1, RW),
	FIELD("IErrorStatus.IfaceAKEYViolation", 0x020, 3, 1, RW),
	FIELD("IErrorStatus.IfaceFCFwdProgressViolation", 0x020, 4, 1, RW),
	FIELD("IErrorStatus.UnexpectedPHYFailure", 0x020, 5, 1, RW),
	FIELD("IErrorStatus.P2PSECE", 0x020, 6, 1, RW),
	FIELD("IErrorStatus.IfaceAE", 0x020, 7, 1, RW),
	FIELD("IErrorStatus.SwitchPktRelayFailure", 0x020, 8, 1, RW),
	/* IErrorDetect */
	FIELD("IErrorDetect.ExcessivePHYRetraining", 0x020, 16, 1, RW),
	FIELD("IErrorDetect.NonTransientLinkErr", 0x020, 17, 1, RW),
	FIELD("IErrorDetect.IfaceContainment", 0x020, 18, 1, RW),
	FIELD("IErrorDetect.IfaceAKEYViolation", 0x020, 19, 1, RW),
	FIELD("IErrorDetect.IfaceFCFwdProgressViolation", 0x020, 20, 1, RW),
	FIELD("IErrorDetect.UnexpectedPHYFailure", 0x020, 21, 1, RW),
	FIELD("IErrorDetect.P2PSECE", 0x020, 22, 1, RW),
	FIELD("IErrorDetect.IfaceAE", 0x020, 23, 1, RW),
	FIELD("IErrorDetect.SwitchPktRelayFailure", 0x020, 24, 1, RW),
	/* IErrorFaultInj */
	FIELD("IErrorFaultInj.ExcessivePHYRetraining", 0x020, 32, 1, RW),
	FIELD("IErrorFaultInj.NonTransientLinkErr", 0x020, 33, 1, RW),
	FIELD("IErrorFaultInj.IfaceAKEYViolation", 0x020, 35, 1, RW),
	FIELD("IErrorFaultInj.IfaceFCFwdProgressViolation", 0x020, 36, 1, RW),
	FIELD("IErrorFaultInj.UnexpectedPHYFailure", 0x020, 37, 1, RW),
	FIELD("IErrorFaultInj.P2PSECE", 0x020, 38, 1, RW),
	FIELD("IErrorFaultInj.IfaceAE", 0x020, 39, 1, RW),
	FIELD("IErrorFaultInj.SwitchPktRelayFailure", 0x020, 40, 1, RW),
	/* IErrorTrig */
	FIELD("IErrorTrig.ExcessivePHYRetraining", 0x020, 48, 1, RW),
	FIELD("IErrorTrig.NonTransientLinkErr", 0x020, 49, 1, RW),
	FIELD("IErrorTrig.IfaceContainment", 0x020, 50, 1, RW),
	FIELD("IErrorTrig.IfaceAKEYViolation", 0x020, 51, 1, RW),
	FIELD("IErrorTrig.IfaceFCFwdProgressViolation", 0x020, 52, 1, RW),
	FIELD("IErrorTrig.UnexpectedPHYFailure", 0x020, 53, 1, RW),
	FIELD("IErrorTrig.P2PSECE", 0x020, 54, 1, RW),
	FIELD("IErrorTrig.IfaceAE", 0x020, 55, 1, RW),
	FIELD("IErrorTrig.SwitchPktRelayFailure", 0x020, 56, 1, RW),
	FIELD("IErrorSigTgt", 0x028, 0, 48, RW),
	FIELD("TETH", 0x028, 48, 4, RW),
	FIELD("TETE", 0x028, 52, 4, RW),
	FIELD("FCFWDProgress", 0x028, 56, 8, 0),
	FIELD("LLTxPktAlignment", 0x030, 0, 8, 0),
	FIELD("LLRxPktAlignment", 0x030, 8, 8, 0),
	FIELD("MaxImplicitFCCredits", 0x030, 16, 16, 0),
	FIELD("PeerInterfaceID", 0x030, 32, 12, 0),
	FIELD("PeerBaseCClass", 0x030, 48, 16, 0),
	FIELD("PeerCID", 0x038, 0, 12, 0),
	FIELD("PeerSID", 0x038, 16, 16, 0),
	/* PeerState */
	FIELD("PeerCState", 0x038, 32, 3, 0),
	FIELD("PeerMgrType", 0x038, 35, 1, 0),
	FIELD("PeerCIDValid", 0x038, 36, 1, 0),
	FIELD("PeerSIDValid", 0x038, 37, 1, 0),
	FIELD("PeerIfaceIDValid", 0x038, 38, 1, 0),
	FIELD("PeerIfaceP2P64Sup", 0x038, 40, 1, 0),
	FIELD("PeerIfaceP2PVdefSup", 0x038, 41, 1, 0),
	FIELD("PeerIfaceExplicitSup", 0x038, 42, 1, 0),
	FIELD("PeerMultipleCIDConf", 0x038, 43, 1, 0),
	FIELD("PeerOOBMgmtDisabled", 0x038, 44, 1, 0),
	FIELD("PeerHomeAgentSup", 0x038, 45, 1, 0),
	FIELD("PeerCachingAgentSup", 0x038, 46, 1, 0),
	FIELD("PeerIfaceFCSup", 0x038, 47, 2, 0),
	FIELD("PeerBaseCClassValid", 0x038, 49, 1, 0),
	FIELD("PeerInbandMgmtDisabled", 0x038, 50, 1, 0),
	FIELD("PeerUniformOpClassSup", 0x038, 51, 1, 0),
	FIELD("PeerLLRSup", 0x038, 52, 1, 0),
	FIELD("PeerUniformOpClassSelected", 0x038, 53, 2, 0),
	FIELD("PeerP2PAEADSup", 0x038, 55, 1, 0),
	FIELD("PeerP2PNextHdrSup", 0x038, 56, 1, 0),
	FIELD("PeerDROpClassSup", 0x038, 57, 1, 0),
	FIELD("PathPropagationTime", 0x040, 0, 16, 0),
	FIELD("TRIndex", 0x040, 16, 4, RW),
	FIELD("TRCID", 0x040, 20, 12, RW),
	FIELD("VCPCOEnabled", 0x040, 32, 32, RW),
	FIELD("EETxPktAlignment", 0x048, 0, 8, 0),
	FIELD("EERxPktAlignment", 0x048, 8, 8, 0),
	FIELD("EETxMinPktStart", 0x048, 16, 8, 0),
	FIELD("EERxMinPktStart", 0x048, 24, 8, 0),
	FIELD("HVE", 0x048, 32, 5, RW),
	FIELD("TTCUnit", 0x048, 46, 2, 0),
	FIELD("PeerComponentTTC", 0x048, 48, 16, 0),
	FIELD("PeerNonce", 0x050, 0, 64, 0),
	FIELD("AggregationSup", 0x058, 0, 8, 0),
	FIELD("CLPCTL", 0x058, 8, 4, RW),
	FIELD("CDLPCTL", 0x058, 12, 4, RW),
	FIELD("MaxPHYRetrainEvents", 0x058, 16, 8, 0),
	FIELD("TxLLRTACK", 0x058, 24, 20, 0),
	FIELD("RxLLRTACK", 0x058, 44, 20, 0),
	FIELD("TEHistoryThresh", 0x060, 0, 12, RW),
	/* LinkCTLControl */
	FIELD("XmitPeerCUpEnb", 0x060, 34, 1, RW),
	FIELD("RecvPeerCUpEnb", 0x060, 35, 1, RW),
	FIELD("XmitPeerCResetEnb", 0x060, 36, 1, RW),
	FIELD("RecvPeerCResetEnb", 0x060, 37, 1, RW),
	FIELD("XmitPeerEnterLinkUpLPEnb", 0x060, 38, 1, RW),
	FIELD("RecvPeerEnterLinkUpLPEnb", 0x060, 39, 1, RW),
	FIELD("XmitPeerEnterLinkLPEnb", 0x060, 40, 1, RW),
	FIELD("RecvPeerEnterLinkLPEnb", 0x060, 41, 1, RW),
	FIELD("XmitLinkResetEnb", 0x060, 42, 1, RW),
	FIELD("RecvLinkResetEnb", 0x060, 43, 1, RW),
	FIELD("NextInterfacePTR", 0x070, 0, 32, PTR),
	FIELD("NextAIPTR", 0x078, 0, 32, PTR),
	FIELD("NextIGPTR", 0x078, 32, 32, PTR),
	FIELD("IPHYPTR", 0x080, 0, 32, PTR),
	FIELD("ISTATSPTR", 0x080, 32, 32, PTR),
	FIELD("MechanicalPTR", 0x088, 0, 32, PTR),
	FIELD("VDPTR", 0x088, 32, 32, PTR),
	FIELD("VCATPTR", 0x090, 0, 32, PTR),
	FIELD("LPRTPTR", 0x090, 32, 32, PTR),
	FIELD("MPRTPTR", 0x098, 0, 32, PTR),
	FIELD("IngressAKeyMask", 0x0a0, 0, 64, RW),
	FIELD("EgressAKeyMask", 0x0a8, 0, 64, RW),
};

static const GenzField component_switch_fields[] = {
	FIELD("Type", 0x000, 0, 12, 0),
	FIELD("Vers", 0x000, 12, 4, 0),
	FIELD("Size", 0x000, 16, 16, PTR),
	/* SwitchCAP1 */
	FIELD("CtlOpClassPktFilteringSup", 0x000, 32, 1, 0),
	FIELD("ULATScale", 0x000, 33, 1, 0),
	FIELD("MLATScale", 0x000, 34, 1, 0),
	FIELD("PCOCommSup", 0x000, 35, 1, 0),
	FIELD("UnreliableCtlWrMSGPktFilteringSup", 0x000, 36, 1, 0),
	FIELD("DefaultCollPktRelaySup", 0x000, 37, 1, 0),
	/* SwitchCAP1Control */
	FIELD("MCPRTEnb", 0x008, 0, 1, RW),
	FIELD("MSMCPRTEnb", 0x008, 1, 1, RW),
	FIELD("DefaultMCPktRelayEnb", 0x008, 2, 1, RW),
	FIELD("DefaultCollPktRelayEnb", 0x008, 3, 1, RW),
	FIELD("SwitchStatus", 0x008, 32, 16, 0),
	/* SwitchOpCTL */
	FIELD("PktRelayEnb", 0x008, 48, 1, RW),
	FIELD("LPRTSize", 0x010, 0, 12, 0),
	FIELD("HCSize", 0x010, 12, 4, 0),
	FIELD("MHCSize", 0x010, 16, 4, 0),
	FIELD("MaxRoutes", 0x010, 20, 12, 0),
	FIELD("UVCATSZ", 0x010, 32, 5, 0),
	FIELD("MVCATSZ", 0x010, 37, 5, 0),
	FIELD("MCPRTMSMCPRTPadSize", 0x010, 42, 5, 0),
	FIELD("LPRTMPRTRowSize", 0x018, 0, 16, 0),
	FIELD("MCPRTMSMCPRTRowSize", 0x018, 16, 16, 0),
	FIELD("DefaultMCEgressIface", 0x018, 32, 12, RW),
	FIELD("DefaultCollEgressIface", 0x018, 44, 12, RW),
	FIELD("MaxULAT", 0x020, 0, 16, 0),
	FIELD("MaxMLAT", 0x020, 16, 16, 0),
	FIELD("MCPRTSize", 0x020, 32, 12, 0),
	FIELD("MPRTSize", 0x028, 0, 16, 0),
	FIELD("MSMCPRTSize", 0x028, 32, 28, 0),
	FIELD("MVCATPTR", 0x030, 0, 32, PTR),
	FIELD("RtCtlPTR", 0x030, 32, 32, PTR),
	FIELD("MCPRTPTR", 0x038, 0, 32, PTR),
	FIELD("MSMCPRTPTR", 0x038, 32, 32, PTR),
	FIELD("MCE-UUID", 0x040, 0, 128, 0),
	FIELD("MV0", 0x050, 0, 1, RW),
	FIELD("MgmtVC0", 0x050, 1, 5, RW),
	FIELD("MgmtIface0", 0x050, 6, 12, RW),
	FIELD("MV1", 0x050, 18, 1, RW),
	FIELD("MgmtVC1", 0x050, 19, 5, RW),
	FIELD("MgmtIface1", 0x050, 24, 12, RW),
	FIELD("MV2", 0x050, 36, 1, RW),
	FIELD("MgmtVC2", 0x050, 37, 5, RW),
	FIELD("MgmtIface2", 0x050, 42, 12, RW),
	FIELD("MV3", 0x058, 0, 1, RW),
	FIELD("MgmtVC3", 0x058, 1, 5, RW),
	FIELD("MgmtIface3", 0x058, 6, 12, RW),
};

static const GenzField component_destination_table_fields[] = {
	FIELD("Type", 0x000, 0, 12, 0),
	FIELD("Vers", 0x000, 12, 4, 0),
	FIELD("Size", 0x000, 16, 16, PTR),
	/* DestTableCAP1 */
	FIELD("EISup", 0x000, 32, 1, 0),
	FIELD("WildcardSSDTSup", 0x000, 33, 1, 0),
	FIELD("WildcardMSDTSup", 0x000, 34, 1, 0),
	FIELD("RITSSDTSup", 0x000, 35, 1, 0),
	/* DestTableControl */
	FIELD("PeerAuthEnb", 0x008, 0, 1, RW),
	FIELD("RITSSDTEnb", 0x008, 1, 1, RW),
	FIELD("SSDTSize", 0x008, 32, 12, 0),
	FIELD("HCSize", 0x008, 44, 4, 0),
	FIELD("MHCSize", 0x008, 48, 4, 0),
	FIELD("MaxRoutes", 0x008, 52, 12, 0),
	FIELD("REQVCATSZ", 0x010, 0, 5, 0),
	FIELD("RSPVCATSZ", 0x010, 5, 5, 0),
	FIELD("RITPadSize", 0x010, 10, 5, 0),
	FIELD("SSDTMSDTRowSize", 0x010, 32, 16, 0),
	FIELD("MSDTSize", 0x010, 48, 16, 0),
	FIELD("RITSize", 0x018, 0, 12, 0),
	FIELD("RtCtlPTR", 0x018, 32, 32, PTR),
	FIELD("SSDTPTR", 0x020, 0, 32, PTR),
	FIELD("MSDTPTR", 0x020, 32, 32, PTR),
	FIELD("REQVCATPTR", 0x028, 0, 32, PTR),
	FIELD("RITPTR", 0x028, 32, 32, PTR),
	FIELD("RSPVCATPTR", 0x030, 0, 32, PTR),
};

#undef FIELD
#undef RW
#undef PTR

/*
 * The structure version of all four in specification 1.1 is 1 (genz_1_1.py does not carry it;
 * linux-genz's genz-types.c, generated from the 1.1 specification, does). Sizes: where the 1.1
 * layouts end.
 */
#define STRUCTURE(name_, type_, size_, fields_)                                                    \
	{                                                                                          \
		.name = (name_), .type = (type_), .vers = 1, .size = (size_), .fields = (fields_), \
		.n_fields = ELEMENTSOF(fields_)                                                    \
	}

const GenzStructure genz_core = STRUCTURE("core", GENZ_TYPE_CORE, 0x200, core_fields);
/* With the optional VCAT/LPRT/MPRT pointers and AKey masks (0x90..0xaf) a switch port has. */
const GenzStructure genz_interface =
	STRUCTURE("interface", GENZ_TYPE_INTERFACE, 0xb0, interface_fields);
const GenzStructure genz_component_switch =
	STRUCTURE("component_switch", GENZ_TYPE_COMPONENT_SWITCH, 0x70, component_switch_fields);
const GenzStructure genz_component_destination_table =
	STRUCTURE("component_destination_table", GENZ_TYPE_COMPONENT_DESTINATION_TABLE, 0x40,
		  component_destination_table_fields);

const GenzStructure *genz_structure(uint16_t type)
{
	switch (type) {
	case GENZ_TYPE_CORE:
		return &genz_core;
	case GENZ_TYPE_INTERFACE:
		return &genz_interface;
	case GENZ_TYPE_COMPONENT_SWITCH:
		return &genz_component_switch;
	case GENZ_TYPE_COMPONENT_DESTINATION_TABLE:
		return &genz_component_destination_table;
	default:
		return NULL;
	}
}

const GenzField *genz_field(const GenzStructure *s, const char *name)
{
	for (size_t i = 0; i < s->n_fields; i++)
		if (strcmp(s->fields[i].name, name) == 0)
			return &s->fields[i];
	return NULL;
}

uint64_t genz_get(const uint8_t *base, const GenzField *f)
{
	unsigned width = f->width < 64 ? f->width : 64;
	uint64_t v = 0;

	/* A byte at a time: n bits at shift sh of the byte go to bit pos of the value. */
	for (unsigned pos = 0, n; pos < width; pos += n) {
		unsigned bit = f->bit + pos, sh = bit % 8;

		n = MIN(8 - sh, width - pos);
		v |= (uint64_t)((base[bit / 8] >> sh) & ((1u << n) - 1)) << pos;
	}
	return v;
}

void genz_set(uint8_t *base, const GenzField *f, uint64_t value)
{
	for (unsigned pos = 0, n; pos < f->width; pos += n) {
		unsigned bit = f->bit + pos, sh = bit % 8;
		unsigned mask, bits;

		n = MIN(8 - sh, f->width - pos);
		mask = ((1u << n) - 1) << sh;
		bits = pos < 64 ? (unsigned)(value >> pos) << sh : 0; /* beyond 64: zeroes */
		base[bit / 8] = (uint8_t)((base[bit / 8] & ~mask) | (bits & mask));
	}
}

uint64_t genz_get_named(const GenzStructure *s, const uint8_t *base, const char *name)
{
	const GenzField *f = genz_field(s, name);

	return f ? genz_get(base, f) : 0;
}

bool genz_set_named(const GenzStructure *s, uint8_t *base, const char *name, uint64_t value)
{
	const GenzField *f = genz_field(s, name);

	if (!f)
		return false;
	genz_set(base, f, value);
	return true;
}

/* The bits of byte `byte` of s that writable fields cover. */
static uint8_t writable_bits(const GenzStructure *s, size_t byte)
{
	size_t first = byte * 8, end = first + 8;
	unsigned mask = 0;

	for (size_t i = 0; i < s->n_fields; i++) {
		const GenzField *f = &s->fields[i];
		size_t lo = MAX(first, (size_t)f->bit), hi = MIN(end, (size_t)f->bit + f->width);

		if ((f->flags & GENZ_FIELD_RW) && lo < hi)
			mask |= ((1u << (hi - lo)) - 1) << (lo - first);
	}
	return (uint8_t)mask;
}

bool genz_write_allowed(const GenzStructure *s, const uint8_t *old, size_t off, const uint8_t *data,
			size_t len)
{
	/* An empty write is no range within the structure either. */
	if (len == 0 || off >= s->size || len > s->size - off)
		return false;
	for (size_t i = 0; i < len; i++) {
		uint8_t changed = old[off + i] ^ data[i];

		if (changed && (changed & ~writable_bits(s, off + i)))
			return false;
	}
	return true;
}

int genz_field_format(const GenzField *f, const uint8_t *base, char *buf, size_t size)
{
	const uint8_t *p = base + f->bit / 8;
	char hex[2 * 16 + 1];

	if (f->width <= 64)
		return snprintf(buf, size, "%s=0x%" PRIx64, f->name, genz_get(base, f));
	/*
	 * A UUID (128 bits, byte-aligned). Gen-Z keeps UUIDs big-endian: the first byte of the
	 * UUID as people write it, its most significant, is at the field's lowest address. So the
	 * bytes go out in address order, 32 hex digits with no dashes, and what a manager wrote
	 * from a UUID's usual text reads back as that text. (genz_get() gives the field's first 8
	 * bytes as a little-endian number all the same.)
	 */
	for (size_t i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", p[i]);
	return snprintf(buf, size, "%s=%s", f->name, hex);
}

uint32_t genz_route_pack(GenzRoute r)
{
	return (uint32_t)(r.mhc & 0x3f) | (uint32_t)(r.valid ? 1 : 0) << 8 |
	       (uint32_t)(r.hc & 0x3f) << 9 | (uint32_t)(r.vca & 0x1f) << 15 |
	       (uint32_t)(r.ei & 0xfff) << 20;
}

GenzRoute genz_route_unpack(uint32_t v)
{
	return (GenzRoute){
		.mhc = (uint8_t)(v & 0x3f),
		.valid = (v >> 8) & 1,
		.hc = (uint8_t)((v >> 9) & 0x3f),
		.vca = (uint8_t)((v >> 15) & 0x1f),
		.ei = (uint16_t)((v >> 20) & 0xfff),
	};
}
