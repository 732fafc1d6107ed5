/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * famez_bridge: the bridge's Gen-Z control space, as the driver holds it and a manager reads and
 * writes it with control requests (docs/fabric.md, "Control space"; famez_bridge(4)). The layout
 * and the numbers are those of every famez component (famez's src/shared/control-space.h and
 * src/shared/genz.c, the Gen-Z Core Specification 1.1): a unit test of famez checks that every
 * number here agrees with genz.c, bit by bit, so that the two never drift apart.
 *
 * The same bytes are in sysfs, under the PCI device, one read-only file per structure or table:
 * control/core@0x0, control/component_destination_table@0x400, control/interface0@0x1000,
 * control/ssdt@0x40000, control/msdt@0x80000.
 */
#ifndef _UAPI_LINUX_FAMEZ_BRIDGE_CONTROL_H
#define _UAPI_LINUX_FAMEZ_BRIDGE_CONTROL_H

/* Where each structure and table is (bytes), and how big. */
#define FAMEZ_CTL_CORE 0x0
#define FAMEZ_CTL_CORE_SIZE 0x200
#define FAMEZ_CTL_CDT 0x400 /* Component Destination Table Structure */
#define FAMEZ_CTL_CDT_SIZE 0x40
#define FAMEZ_CTL_INTERFACE0 0x1000
#define FAMEZ_CTL_INTERFACE_SIZE 0xb0
#define FAMEZ_CTL_SSDT 0x40000 /* one entry per CID of our subnet */
#define FAMEZ_CTL_MSDT 0x80000 /* one entry per SID */
#define FAMEZ_CTL_ENTRIES 4096 /* of each table */
#define FAMEZ_CTL_ENTRY_SIZE 4
#define FAMEZ_CTL_DATA_MAX 128 /* bytes one request reads or writes at most */
#define FAMEZ_CTL_TAG_MAX 0xfff
#define FAMEZ_CTL_TAG_WINDOW 32 /* a requester's last tags, refused again (TagReused) */
#define FAMEZ_CTL_UNIT 16 /* pointers and sizes in the structures are in 16-byte units */

/* Structure types and versions (the first 16 bits of every structure). */
#define FAMEZ_GENZ_TYPE_CORE 0x0
#define FAMEZ_GENZ_TYPE_INTERFACE 0x2
#define FAMEZ_GENZ_TYPE_CDT 0x12
#define FAMEZ_GENZ_VERS 1

/* C-State (CState), I-State (IState), Base C-Classes. */
#define FAMEZ_GENZ_C_DOWN 0
#define FAMEZ_GENZ_C_CFG 1
#define FAMEZ_GENZ_C_UP 2
#define FAMEZ_GENZ_I_DOWN 0
#define FAMEZ_GENZ_I_UP 2
#define FAMEZ_GENZ_CCLASS_SWITCH 0x5
#define FAMEZ_GENZ_CCLASS_BRIDGE 0x14

/*
 * The fields the driver reads or writes itself, as genz.c places them: the byte offset of the
 * 64-bit word a field starts in, its first bit there (0: the least significant), its width.
 * Fields are little-endian; FAMEZ_GENZ_BIT() is the field's first bit from the structure's start.
 */
#define FAMEZ_GENZ_BIT_(word, bit, width) ((word) * 8 + (bit))
#define FAMEZ_GENZ_WIDTH_(word, bit, width) (width)
/* Of a field's name, or of its three numbers when a macro already expanded the name. */
#define FAMEZ_GENZ_BIT(...) FAMEZ_GENZ_BIT_(__VA_ARGS__)
#define FAMEZ_GENZ_WIDTH(...) FAMEZ_GENZ_WIDTH_(__VA_ARGS__)

/* Every structure's header. */
#define FAMEZ_GENZ_TYPE 0x000, 0, 12
#define FAMEZ_GENZ_VERSION 0x000, 12, 4
#define FAMEZ_GENZ_SIZE 0x000, 16, 16 /* in FAMEZ_CTL_UNIT */

/* Core Structure. */
#define FAMEZ_GENZ_CORE_CSTATE 0x008, 0, 3
#define FAMEZ_GENZ_CORE_BASECCLASS 0x018, 0, 16
#define FAMEZ_GENZ_CORE_MAXINTERFACE 0x018, 16, 12
#define FAMEZ_GENZ_CORE_COMPDESTPTR 0x078, 0, 32
#define FAMEZ_GENZ_CORE_INTERFACE0PTR 0x078, 32, 32
#define FAMEZ_GENZ_CORE_PFMCID 0x0b0, 24, 12
#define FAMEZ_GENZ_CORE_PFMSID 0x0b0, 36, 16
#define FAMEZ_GENZ_CORE_SID0 0x0b8, 0, 16
#define FAMEZ_GENZ_CORE_CV 0x0c0, 0, 8 /* bit 0: CID0 is valid */
#define FAMEZ_GENZ_CORE_CID0 0x0c0, 8, 12
#define FAMEZ_GENZ_CORE_PFMCIDVALID 0x168, 2, 1
#define FAMEZ_GENZ_CORE_PFMSIDVALID 0x168, 4, 1
#define FAMEZ_GENZ_CORE_SERIALNUMBER 0x1c0, 0, 64

/* Component Destination Table Structure. */
#define FAMEZ_GENZ_CDT_SSDTSIZE 0x008, 32, 12 /* 0: 4096 */
#define FAMEZ_GENZ_CDT_MAXROUTES 0x008, 52, 12
#define FAMEZ_GENZ_CDT_MSDTSIZE 0x010, 48, 16
#define FAMEZ_GENZ_CDT_SSDTPTR 0x020, 0, 32
#define FAMEZ_GENZ_CDT_MSDTPTR 0x020, 32, 32

/* Interface Structure. */
#define FAMEZ_GENZ_IFACE_INTERFACEID 0x000, 32, 12
#define FAMEZ_GENZ_IFACE_ISTATE 0x008, 0, 3
#define FAMEZ_GENZ_IFACE_IFACEENB 0x008, 32, 1
#define FAMEZ_GENZ_IFACE_INGRESSDRENB 0x008, 51, 1
#define FAMEZ_GENZ_IFACE_PEERINTERFACEID 0x030, 32, 12
#define FAMEZ_GENZ_IFACE_PEERBASECCLASS 0x030, 48, 16
#define FAMEZ_GENZ_IFACE_PEERCID 0x038, 0, 12
#define FAMEZ_GENZ_IFACE_PEERSID 0x038, 16, 16
#define FAMEZ_GENZ_IFACE_PEERCSTATE 0x038, 32, 3
#define FAMEZ_GENZ_IFACE_PEERCIDVALID 0x038, 36, 1
#define FAMEZ_GENZ_IFACE_PEERSIDVALID 0x038, 37, 1

/*
 * An SSDT or MSDT entry: 4 bytes, little-endian, MHC:6, R:2, V:1, HC:6, VCA:5, EI:12 from bit 0.
 * A bridge has one interface: a valid entry leaves by EI 0, or the write is refused
 * (Unsupported).
 */
#define FAMEZ_GENZ_ROUTE_V (1u << 8)
#define FAMEZ_GENZ_ROUTE_EI_SHIFT 20
#define FAMEZ_GENZ_ROUTE_EI_MASK 0xfffu

/*
 * What a manager may write: every field of the three structures genz.c marks writable, as
 * F(name, word, bit, width), name as genz.c names it. A write that changes any other bit is
 * refused (ReadOnly); writing a read-only field's current value back is allowed.
 */
#define FAMEZ_GENZ_CORE_RW(F)				\
	F("ComponentEnb", 0x010, 0, 1)			\
	F("ComponentReset", 0x010, 1, 3)		\
	F("HaltUERT", 0x010, 4, 1)			\
	F("TransitionCUp", 0x010, 5, 1)			\
	F("TransitionCLP", 0x010, 6, 1)			\
	F("TransitionCDLP", 0x010, 7, 1)		\
	F("TriggerEmergPwrRed", 0x010, 8, 1)		\
	F("ExitEmergPwrRed", 0x010, 9, 1)		\
	F("TransitionCompPwrOff", 0x010, 10, 1)		\
	F("UpperThermLimPerfThrotEnb", 0x010, 11, 1)	\
	F("CautionThermLimPerfThrotEnb", 0x010, 12, 1)	\
	F("LPDRspZMMUBypass", 0x010, 13, 1)		\
	F("RefreshCompConfig", 0x010, 14, 1)		\
	F("TransmitLocalCtlNoOp", 0x010, 15, 1)		\
	F("TransmitGlobalCtlNoOp", 0x010, 16, 1)	\
	F("TransmitLocalCtlAEAD", 0x010, 17, 1)		\
	F("TransmitGlobalCtlAEAD", 0x010, 18, 1)	\
	F("LLMUTO", 0x088, 0, 16)			\
	F("CRPTO", 0x088, 16, 16)			\
	F("CCTO", 0x088, 32, 16)			\
	F("FAILTO", 0x088, 48, 16)			\
	F("UNRSP", 0x090, 48, 16)			\
	F("UERT", 0x098, 0, 16)				\
	F("NIRT", 0x098, 16, 16)			\
	F("ATSTO", 0x098, 32, 16)			\
	F("UNREQ", 0x098, 48, 16)			\
	F("LLReqDeadline", 0x0a0, 0, 10)		\
	F("NLLReqDeadline", 0x0a0, 10, 10)		\
	F("DeadlineTick", 0x0a0, 20, 12)		\
	F("FPST", 0x0a0, 32, 16)			\
	F("PCOFPST", 0x0a0, 48, 16)			\
	F("LLRspDeadline", 0x0a8, 0, 10)		\
	F("NLLRspDeadline", 0x0a8, 10, 10)		\
	F("RspDeadline", 0x0a8, 20, 10)			\
	F("SFMSID", 0x0a8, 48, 16)			\
	F("PMCID", 0x0b0, 0, 12)			\
	F("PWRMGRCID", 0x0b0, 12, 12)			\
	F("PFMCID", 0x0b0, 24, 12)			\
	F("PFMSID", 0x0b0, 36, 16)			\
	F("SFMCID", 0x0b0, 52, 12)			\
	F("SID0", 0x0b8, 0, 16)				\
	F("DRReqDeadline", 0x0b8, 16, 10)		\
	F("CV", 0x0c0, 0, 8)				\
	F("CID0", 0x0c0, 8, 12)				\
	F("CID1", 0x0c0, 20, 12)			\
	F("CID2", 0x0c0, 32, 12)			\
	F("CID3", 0x0c0, 44, 12)			\
	F("BufferTC", 0x0c0, 60, 4)			\
	F("MaxRequests", 0x0c8, 0, 20)			\
	F("PWRMGRSID", 0x0c8, 34, 16)			\
	F("ControlTO", 0x0d0, 0, 16)			\
	F("ControlDRTO", 0x0d0, 16, 16)			\
	F("NLMUTO", 0x0d0, 32, 16)			\
	F("NOPDESTCID", 0x0d0, 48, 12)			\
	F("NOPDESTSID", 0x0d0, 60, 16)			\
	F("NOPSRCCID", 0x0d8, 12, 12)			\
	F("NOPSRCSID", 0x0d8, 24, 16)			\
	F("CAP1Control.MaxPkt", 0x158, 0, 3)		\
	F("NoSnoopCtl", 0x158, 3, 1)			\
	F("BISTCtl", 0x158, 4, 1)			\
	F("ManagerType", 0x158, 5, 1)			\
	F("PrimaryMgrRole", 0x158, 6, 1)		\
	F("PrimaryFabMgrRole", 0x158, 7, 1)		\
	F("SecondaryFabMgrRole", 0x158, 8, 1)		\
	F("PwrMgrEnb", 0x158, 9, 2)			\
	F("PrimaryMgrTransition", 0x158, 11, 1)		\
	F("FabricMgrTransition", 0x158, 12, 1)		\
	F("NextHdrEnb", 0x158, 13, 1)			\
	F("NextHdrPrecTimeEnb", 0x158, 15, 1)		\
	F("InbandMgmtDisable", 0x158, 16, 1)		\
	F("OOBMgmtDisable", 0x158, 17, 1)		\
	F("AutoCStateEnb", 0x158, 18, 1)		\
	F("VdefPwrMgmtEnb", 0x158, 19, 1)		\
	F("MaxPwrCtl", 0x158, 20, 3)			\
	F("EmergPwrReductEnb", 0x158, 23, 1)		\
	F("NotifyPeerCStateEnb", 0x158, 24, 1)		\
	F("CStatePwrCtlEnb", 0x158, 26, 1)		\
	F("LowestAutoCState", 0x158, 27, 3)		\
	F("InitiateAllStatsSnap", 0x158, 30, 1)		\
	F("InitiateAllIfaceStatsSnap", 0x158, 31, 1)	\
	F("MCTPEnb", 0x158, 34, 1)			\
	F("MetaRWHdrEnb", 0x158, 35, 1)			\
	F("HostMgrMGRUUIDEnb", 0x158, 36, 2)		\
	F("MGRUUIDEnb", 0x158, 38, 1)			\
	F("LoopbackEnb", 0x158, 39, 1)			\
	F("SWMgmt0", 0x158, 56, 1)			\
	F("SWMgmt1", 0x158, 57, 1)			\
	F("SWMgmt2", 0x158, 58, 1)			\
	F("SWMgmt3", 0x158, 59, 1)			\
	F("SWMgmt4", 0x158, 60, 1)			\
	F("SWMgmt5", 0x158, 61, 1)			\
	F("SWMgmt6", 0x158, 62, 1)			\
	F("SWMgmt7", 0x158, 63, 1)			\
	F("PMCIDValid", 0x168, 1, 1)			\
	F("PFMCIDValid", 0x168, 2, 1)			\
	F("SFMCIDValid", 0x168, 3, 1)			\
	F("PFMSIDValid", 0x168, 4, 1)			\
	F("SFMSIDValid", 0x168, 5, 1)			\
	F("RspMemInterleaveEnb", 0x168, 6, 1)		\
	F("PerfLogRecordEnb", 0x168, 7, 1)		\
	F("ClearPerfMarkerLog", 0x168, 8, 1)		\
	F("HostLPDType1_2Enb", 0x168, 9, 1)		\
	F("HostLPDType3Enb", 0x168, 10, 1)		\
	F("HostLPDType0Enb", 0x168, 11, 1)		\
	F("HostLPDType4Enb", 0x168, 12, 1)		\
	F("DIPIBlockSize", 0x168, 15, 3)		\
	F("BufReqT10DIFPIEnb", 0x168, 18, 1)		\
	F("RSPLPDType5Enb", 0x168, 22, 1)		\
	F("REQLPDType5Enb", 0x168, 23, 1)		\
	F("EnqueueEmbeddedRdEnb", 0x168, 24, 1)		\
	F("CAP3Control", 0x178, 0, 64)			\
	F("CAP4Control", 0x188, 0, 64)			\
	F("OOOTO", 0x1a0, 16, 16)			\
	F("REQNIRTO", 0x1a0, 32, 16)			\
	F("REQABNIRTO", 0x1a0, 48, 16)			\
	F("CompNonce", 0x1a8, 0, 64)			\
	F("MGR-UUID", 0x1b0, 0, 128)

#define FAMEZ_GENZ_INTERFACE_RW(F)					\
	F("PHYPowerEnb", 0x000, 56, 8)					\
	F("IfaceEnb", 0x008, 32, 1)					\
	F("IControl.FullIfaceReset", 0x008, 33, 1)			\
	F("IControl.WarmIfaceReset", 0x008, 34, 1)			\
	F("LinkRFCDisable", 0x008, 35, 1)				\
	F("PeerCReset", 0x008, 36, 1)					\
	F("PeerCUpTransition", 0x008, 37, 1)				\
	F("PeerAttr1Req", 0x008, 38, 1)					\
	F("IfaceAKeyValidationEnb", 0x008, 39, 1)			\
	F("LUpTransition", 0x008, 40, 1)				\
	F("AutoStop", 0x008, 41, 1)					\
	F("PathTimeReq", 0x008, 42, 1)					\
	F("ForcePLARetraining", 0x008, 43, 1)				\
	F("LLPTransition", 0x008, 44, 3)				\
	F("LUpLPTransition", 0x008, 47, 3)				\
	F("PeerSetAttrReq", 0x008, 50, 1)				\
	F("IngressDREnb", 0x008, 51, 1)					\
	F("P2PNextHdrEnb", 0x008, 52, 1)				\
	F("IControl.IfaceContainment", 0x008, 53, 1)			\
	F("PeerNonceReq", 0x008, 54, 1)					\
	F("P2PAEADEnb", 0x008, 55, 1)					\
	F("P2PAEADEKeyUpdateEnb", 0x008, 56, 1)				\
	F("TransientErrThreshEnb", 0x010, 33, 1)			\
	F("IErrFaultInjEnb", 0x010, 34, 1)				\
	F("WildcardPktRelayEnb", 0x010, 35, 1)				\
	F("IfaceLoopbackEnb", 0x010, 36, 1)				\
	F("FlowControlType", 0x010, 37, 1)				\
	F("OpClassSelect", 0x010, 38, 3)				\
	F("CtlOpClassPktFiltEnb", 0x010, 41, 1)				\
	F("UnreliableCtlWriteMSGPktFiltEnb", 0x010, 42, 1)		\
	F("LPRTEnb", 0x010, 43, 1)					\
	F("MPRTEnb", 0x010, 44, 1)					\
	F("LLRCRCTrigger", 0x010, 46, 1)				\
	F("SrcCIDPktValidationEnb", 0x010, 47, 1)			\
	F("SrcSIDPktValidationEnb", 0x010, 48, 1)			\
	F("PeerCIDConfigured", 0x010, 49, 1)				\
	F("PeerSIDConfigured", 0x010, 50, 1)				\
	F("AdaptiveFCCreditEnb", 0x010, 51, 1)				\
	F("OmitP2PStandaloneAck", 0x010, 52, 1)				\
	F("IfaceCompContainmentEnb", 0x010, 53, 1)			\
	F("PeerNonceValidationEnb", 0x010, 54, 1)			\
	F("PCOCommEnb", 0x010, 55, 1)					\
	F("LLREnb", 0x010, 56, 1)					\
	F("AggIfaceCtl", 0x010, 57, 2)					\
	F("TRCIDValid", 0x010, 59, 1)					\
	F("PrecisionTimeEnb", 0x010, 60, 1)				\
	F("SWMgmtI0", 0x018, 32, 1)					\
	F("SWMgmtI1", 0x018, 33, 1)					\
	F("IErrorStatus.ExcessivePHYRetraining", 0x020, 0, 1)		\
	F("IErrorStatus.NonTransientLinkErr", 0x020, 1, 1)		\
	F("IErrorStatus.IfaceContainment", 0x020, 2, 1)			\
	F("IErrorStatus.IfaceAKEYViolation", 0x020, 3, 1)		\
	F("IErrorStatus.IfaceFCFwdProgressViolation", 0x020, 4, 1)	\
	F("IErrorStatus.UnexpectedPHYFailure", 0x020, 5, 1)		\
	F("IErrorStatus.P2PSECE", 0x020, 6, 1)				\
	F("IErrorStatus.IfaceAE", 0x020, 7, 1)				\
	F("IErrorStatus.SwitchPktRelayFailure", 0x020, 8, 1)		\
	F("IErrorDetect.ExcessivePHYRetraining", 0x020, 16, 1)		\
	F("IErrorDetect.NonTransientLinkErr", 0x020, 17, 1)		\
	F("IErrorDetect.IfaceContainment", 0x020, 18, 1)		\
	F("IErrorDetect.IfaceAKEYViolation", 0x020, 19, 1)		\
	F("IErrorDetect.IfaceFCFwdProgressViolation", 0x020, 20, 1)	\
	F("IErrorDetect.UnexpectedPHYFailure", 0x020, 21, 1)		\
	F("IErrorDetect.P2PSECE", 0x020, 22, 1)				\
	F("IErrorDetect.IfaceAE", 0x020, 23, 1)				\
	F("IErrorDetect.SwitchPktRelayFailure", 0x020, 24, 1)		\
	F("IErrorFaultInj.ExcessivePHYRetraining", 0x020, 32, 1)	\
	F("IErrorFaultInj.NonTransientLinkErr", 0x020, 33, 1)		\
	F("IErrorFaultInj.IfaceAKEYViolation", 0x020, 35, 1)		\
	F("IErrorFaultInj.IfaceFCFwdProgressViolation", 0x020, 36, 1)	\
	F("IErrorFaultInj.UnexpectedPHYFailure", 0x020, 37, 1)		\
	F("IErrorFaultInj.P2PSECE", 0x020, 38, 1)			\
	F("IErrorFaultInj.IfaceAE", 0x020, 39, 1)			\
	F("IErrorFaultInj.SwitchPktRelayFailure", 0x020, 40, 1)		\
	F("IErrorTrig.ExcessivePHYRetraining", 0x020, 48, 1)		\
	F("IErrorTrig.NonTransientLinkErr", 0x020, 49, 1)		\
	F("IErrorTrig.IfaceContainment", 0x020, 50, 1)			\
	F("IErrorTrig.IfaceAKEYViolation", 0x020, 51, 1)		\
	F("IErrorTrig.IfaceFCFwdProgressViolation", 0x020, 52, 1)	\
	F("IErrorTrig.UnexpectedPHYFailure", 0x020, 53, 1)		\
	F("IErrorTrig.P2PSECE", 0x020, 54, 1)				\
	F("IErrorTrig.IfaceAE", 0x020, 55, 1)				\
	F("IErrorTrig.SwitchPktRelayFailure", 0x020, 56, 1)		\
	F("IErrorSigTgt", 0x028, 0, 48)					\
	F("TETH", 0x028, 48, 4)						\
	F("TETE", 0x028, 52, 4)						\
	F("TRIndex", 0x040, 16, 4)					\
	F("TRCID", 0x040, 20, 12)					\
	F("VCPCOEnabled", 0x040, 32, 32)				\
	F("HVE", 0x048, 32, 5)						\
	F("CLPCTL", 0x058, 8, 4)					\
	F("CDLPCTL", 0x058, 12, 4)					\
	F("TEHistoryThresh", 0x060, 0, 12)				\
	F("XmitPeerCUpEnb", 0x060, 34, 1)				\
	F("RecvPeerCUpEnb", 0x060, 35, 1)				\
	F("XmitPeerCResetEnb", 0x060, 36, 1)				\
	F("RecvPeerCResetEnb", 0x060, 37, 1)				\
	F("XmitPeerEnterLinkUpLPEnb", 0x060, 38, 1)			\
	F("RecvPeerEnterLinkUpLPEnb", 0x060, 39, 1)			\
	F("XmitPeerEnterLinkLPEnb", 0x060, 40, 1)			\
	F("RecvPeerEnterLinkLPEnb", 0x060, 41, 1)			\
	F("XmitLinkResetEnb", 0x060, 42, 1)				\
	F("RecvLinkResetEnb", 0x060, 43, 1)				\
	F("IngressAKeyMask", 0x0a0, 0, 64)				\
	F("EgressAKeyMask", 0x0a8, 0, 64)

#define FAMEZ_GENZ_CDT_RW(F)		\
	F("PeerAuthEnb", 0x008, 0, 1)	\
	F("RITSSDTEnb", 0x008, 1, 1)

#endif /* _UAPI_LINUX_FAMEZ_BRIDGE_CONTROL_H */
